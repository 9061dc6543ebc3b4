"""``PUT /_sandbox/webhooks/{carrier}`` (where and with which credentials a pushing carrier sends its webhooks)
and ``POST /_sandbox/push`` (send what is due now). Bad input is 422 ``{"msgs": [...]}`` naming the field."""

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from carriers.sandbox.control import Invalid, _object, counted, msgs
from carriers.sandbox.pushes import Pusher
from carriers.sandbox.state import SandboxState


def push_routes(state: SandboxState, pusher: Pusher) -> list[Route]:
    async def webhook(request: Request) -> Response:
        carrier = request.path_params["carrier"]
        try:
            body = await _object(request)
            url, credentials = body.get("url"), body.get("credentials", {})
            if not isinstance(url, str) or not url.startswith(("http://", "https://")):
                raise Invalid(f"url: expected an http(s) URL, got {url!r}")
            if not isinstance(credentials, dict) or not all(isinstance(v, str) for v in credentials.values()):
                raise Invalid(f"credentials: expected an object of strings, got {credentials!r}")
            pusher.target(carrier, url, credentials)
        except Invalid as exc:
            return msgs(exc.status, str(exc))
        except ValueError as exc:
            return msgs(422, str(exc))
        return JSONResponse({"carrier": carrier, "url": url})

    async def push(request: Request) -> Response:
        async with httpx.AsyncClient(timeout=10.0) as http:
            return JSONResponse(await pusher.flush(http))

    return [
        Route("/_sandbox/webhooks/{carrier}", counted(state, "webhooks", webhook), methods=["PUT"]),
        Route("/_sandbox/push", counted(state, "push", push), methods=["POST"]),
    ]
