"""The floor to compare against: a FastAPI app that only verifies the Standard Webhooks signature and
answers 202 (no parsing, no validation, no database)."""

import base64
import os
from datetime import UTC, datetime

from fastapi import FastAPI, Request, Response

from tracker.signatures import SignatureError, verify

KEYS = [base64.b64decode(os.environ["ZELO_BENCH_SECRET"])]
app = FastAPI()


@app.post("/v1/webhooks/erp")
async def webhook(request: Request) -> Response:
    body = await request.body()
    try:
        verify(KEYS, request.headers, body, datetime.now(UTC))
    except SignatureError:
        return Response(status_code=401)
    return Response(status_code=202)
