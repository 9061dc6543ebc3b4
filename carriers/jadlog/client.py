"""HTTP only: the Jadlog tracking call, ``POST {base}/embarcador/api/tracking/consultar``.

The account's ``token`` (a static JWT Jadlog issues; nothing to refresh) goes in ``Authorization: Bearer``;
401/403 is :class:`AuthFailed` at once. Up to :data:`BATCH_LIMIT` codes go in one call, each under the key
:func:`shipment.consulta_key` gives (``shipmentId`` for the 14-digit codes Zelo polls). Transport faults, 429
and 5xx are retried (``carriers.base.retry``), then raised.
"""

from collections.abc import Sequence
from typing import Any

import httpx

from carriers.base import AccountConfig, AuthFailed, Now, Sleep, TrackingResult
from carriers.base.http import checked, json_body, send
from carriers.base.retry import DEFAULT_RETRY, RetryPolicy, with_retries
from carriers.jadlog.parse import CARRIER, parse
from carriers.jadlog.shipment import consulta_key

TRACK_PATH = "/embarcador/api/tracking/consultar"
# Codes per call. Jadlog takes "several" per consulta; its limit is not confirmed: 50 is the working limit
# integrators use with Correios, a batch small enough for one answer in a few seconds.
BATCH_LIMIT = 50


class JadlogClient:
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
        token = (account.credentials.get("token") or "").strip()
        if not token:
            raise ValueError(f"Jadlog account {account.name!r} lacks credentials: token")
        self.account = account
        self._http = http
        self._sleep = sleep
        self._retry = retry
        self._url = account.base_url.rstrip("/") + TRACK_PATH
        self._headers = {"Authorization": f"Bearer {token}"}

    async def track(self, codes: Sequence[str]) -> list[TrackingResult]:
        if not 0 < len(codes) <= BATCH_LIMIT:
            raise ValueError(f"track() takes 1 to {BATCH_LIMIT} codes, got {len(codes)}")
        body = {"consulta": [{consulta_key(code): code} for code in dict.fromkeys(codes)]}
        payload = await with_retries(lambda: self._post(body), sleep=self._sleep, policy=self._retry)
        return parse(payload)

    async def _post(self, body: dict[str, Any]) -> Any:
        """One attempt: the decoded answer."""
        response = await send(self._http, "POST", self._url, carrier=CARRIER, json=body, headers=self._headers)
        if response.status_code in (401, 403):
            raise AuthFailed(
                f"POST {TRACK_PATH} refused the token of account {self.account.name!r} "
                f"(HTTP {response.status_code}): check the token Jadlog issued",
                carrier=CARRIER,
            )
        return json_body(checked(response, carrier=CARRIER), carrier=CARRIER)
