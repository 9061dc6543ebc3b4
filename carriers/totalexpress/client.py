"""HTTP only: Total Express REST tracking, ``POST {base}/ics-tracking-encomenda-lv/v1/tracking``, HTTP Basic.

The tracker asks by AWB (``{"awbs": [...], "comprovanteEntrega": true}``), at most 50 per request (the
manual's limit). A 401/403 is :class:`AuthFailed` at once (Basic credentials do not expire: asking again
would not help). Bodies are kept out of error messages: with the delivery proof requested they may name the
person who received the parcel.
"""

from collections.abc import Sequence
from typing import Any

import httpx

from carriers.base import AccountConfig, AuthFailed, Now, Sleep, TrackingResult
from carriers.base.http import checked, json_body, send
from carriers.base.retry import DEFAULT_RETRY, RetryPolicy, with_retries
from carriers.totalexpress.parse import CARRIER, parse

TRACK_PATH = "/ics-tracking-encomenda-lv/v1/tracking"
BATCH_LIMIT = 50  # AWBs per request
REQUIRED = ("user", "password")


class TotalExpressClient:
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
        missing = [f for f in REQUIRED if not account.credentials.get(f)]
        if missing:
            raise ValueError(f"Total Express account {account.name!r} lacks credentials: {', '.join(missing)}")
        self._account = account
        self._http = http
        self._sleep = sleep
        self._retry = retry
        self._url = account.base_url.rstrip("/") + TRACK_PATH
        self._auth = httpx.BasicAuth(account.credentials["user"], account.credentials["password"])

    async def track(self, codes: Sequence[str]) -> list[TrackingResult]:
        if not 0 < len(codes) <= BATCH_LIMIT:
            raise ValueError(f"track() takes 1 to {BATCH_LIMIT} codes, got {len(codes)}")
        body = {"awbs": list(codes), "comprovanteEntrega": True}
        payload = await with_retries(lambda: self._post(body), sleep=self._sleep, policy=self._retry)
        return parse(payload)

    async def _post(self, body: dict[str, Any]) -> Any:
        response = await send(self._http, "POST", self._url, carrier=CARRIER, json=body, auth=self._auth)
        if response.status_code in (401, 403):
            raise AuthFailed(
                f"POST {TRACK_PATH} refused for account {self._account.name!r} (HTTP {response.status_code}): "
                "check the user and password",
                carrier=CARRIER,
            )
        return json_body(checked(response, carrier=CARRIER, echo=False), carrier=CARRIER, echo=False)
