"""HTTP only: Loggi package tracking, one code per call, through the account's :class:`LoggiSession`.

``GET /v1/companies/{company_id}/packages/{code}/tracking`` takes one tracking code (or loggiKey) in its path, so
the batch limit is 1: the poller then spreads an account's codes over its concurrent calls, and a fault on one
code (a 5xx, a timeout) fails that code's poll only. A 404 is Loggi's answer for a package it does not know:
data (:func:`carriers.loggi.parse.not_found`), not an error.
"""

from collections.abc import Sequence
from urllib.parse import quote

import httpx

from carriers.base import AccountConfig, Now, Sleep, TrackingResult
from carriers.base.http import json_body
from carriers.base.retry import DEFAULT_RETRY, RetryPolicy, with_retries
from carriers.loggi.auth import LoggiSession
from carriers.loggi.parse import CARRIER, not_found, parse_answer

TRACK_PATH = "/v1/companies/{company}/packages/{code}/tracking"
BATCH_LIMIT = 1


class LoggiClient:
    batch_limit = BATCH_LIMIT

    def __init__(
        self,
        account: AccountConfig,
        http: httpx.AsyncClient,
        now: Now,
        sleep: Sleep,
        *,
        retry: RetryPolicy = DEFAULT_RETRY,
    ) -> None:
        self._session = LoggiSession(account, http, now, sleep, retry=retry)
        self._company = quote(account.credentials["company_id"].strip(), safe="")

    async def track(self, codes: Sequence[str]) -> list[TrackingResult]:
        if not 0 < len(codes) <= BATCH_LIMIT:
            raise ValueError(f"track() takes 1 to {BATCH_LIMIT} codes, got {len(codes)}")
        return [await self._track(code) for code in codes]

    async def _track(self, code: str) -> TrackingResult:
        path = TRACK_PATH.format(company=self._company, code=quote(code, safe=""))
        session = self._session

        async def attempt() -> TrackingResult:  # one try, decoding included: a truncated body is retried too
            response = await session.request("GET", path, data_statuses=(404,))
            if response.status_code == 404:
                body = _maybe_json(response)
                return not_found(code, body.get("message") if isinstance(body, dict) else None)
            return parse_answer(json_body(response, carrier=CARRIER), code)

        return await with_retries(attempt, sleep=session.sleep, policy=session.retry)


def _maybe_json(response: httpx.Response) -> object:
    try:
        return response.json()
    except ValueError:
        return None
