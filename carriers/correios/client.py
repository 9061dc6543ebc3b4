"""HTTP only: the Correios SRO Rastro tracking calls, through the account's :class:`CwsSession`."""

from collections.abc import Sequence
from typing import Any

import httpx

from carriers.base import AccountConfig, Now, Sleep, TrackingResult
from carriers.base.retry import DEFAULT_RETRY, RetryPolicy, with_retries
from carriers.correios.cws import CwsSession
from carriers.correios.parse import parse

TRACK_PATH = "/srorastro/v1/objetos"
BATCH_LIMIT = 50  # objects per tracking request (integrators' working limit)


class CorreiosClient:
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
        self._cws = CwsSession(account, http, now, sleep, retry=retry)

    async def track(self, codes: Sequence[str]) -> list[TrackingResult]:
        if not 0 < len(codes) <= BATCH_LIMIT:
            raise ValueError(f"track() takes 1 to {BATCH_LIMIT} codes, got {len(codes)}")
        params = {"codigosObjetos": ",".join(codes), "resultado": "T"}
        payload: Any = await with_retries(
            lambda: self._cws.request("GET", TRACK_PATH, params=params), sleep=self._cws.sleep, policy=self._cws.retry
        )
        return parse(payload)
