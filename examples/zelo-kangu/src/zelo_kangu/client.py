"""HTTP only: ``GET {base}/v1/tracking?codes=A,B,...`` with the account's ``api_token`` as a Bearer token.

Up to :data:`BATCH_LIMIT` codes a call. 401/403 is :class:`~carriers.base.AuthFailed` at once; timeouts,
connection faults, 429 (``Retry-After`` honoured) and 5xx are retried with backoff by Zelo's
``carriers.base.retry``, then raised for the poller to reschedule. Kangu's bodies may echo the recipient, so no
error message quotes one (``echo=False``).
"""

from collections.abc import Sequence
from typing import Any

import httpx
from carriers.base import AccountConfig, AuthFailed, Now, Sleep, TrackingResult
from carriers.base.http import checked, json_body, send
from carriers.base.retry import DEFAULT_RETRY, RetryPolicy, with_retries

from zelo_kangu.parse import CARRIER, parse

TRACK_PATH = "/v1/tracking"
BATCH_LIMIT = 20  # codes per call (illustrative)


class KanguClient:
    """The :class:`~carriers.base.Tracker` Zelo's poller calls, made once per account with the shared HTTP client."""

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
        token = (account.credentials.get("api_token") or "").strip()
        if not token:
            raise ValueError(f"Kangu account {account.name!r} lacks credentials: api_token")
        self.account = account
        self._http = http
        self._sleep = sleep
        self._retry = retry
        self._url = account.base_url.rstrip("/") + TRACK_PATH
        self._headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}

    async def track(self, codes: Sequence[str]) -> list[TrackingResult]:
        if not 0 < len(codes) <= BATCH_LIMIT:
            raise ValueError(f"track() takes 1 to {BATCH_LIMIT} codes, got {len(codes)}")
        params = {"codes": ",".join(dict.fromkeys(codes))}
        payload = await with_retries(lambda: self._get(params), sleep=self._sleep, policy=self._retry)
        return parse(payload)

    async def _get(self, params: dict[str, str]) -> Any:
        """One attempt: the decoded answer."""
        response = await send(self._http, "GET", self._url, carrier=CARRIER, params=params, headers=self._headers)
        if response.status_code in (401, 403):
            raise AuthFailed(
                f"GET {TRACK_PATH} refused the api_token of account {self.account.name!r} "
                f"(HTTP {response.status_code}): check the token in Kangu's panel",
                carrier=CARRIER,
            )
        return json_body(checked(response, carrier=CARRIER, echo=False), carrier=CARRIER, echo=False)
