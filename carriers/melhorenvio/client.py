"""HTTP only: the Melhor Envio tracking call, ``POST /api/v2/me/shipment/tracking`` ``{"orders": [...]}``.

Not-found answers are data. How Melhor Envio answers for an order id it does not know is not documented
publicly; both plausible forms are read: an id missing from the (200) answer, or a 422 validation answer
naming ``orders.<index>`` (then the other ids are asked again without those). Codes that are not UUIDs are
answered here, without a call, as invalid (final).
"""

import re
from collections.abc import Sequence
from functools import partial
from typing import Any

import httpx

from carriers.base import AccountConfig, ContractError, Now, ResultError, Sleep, TrackingResult
from carriers.base.http import checked, json_body
from carriers.base.retry import DEFAULT_RETRY, RetryPolicy, with_retries
from carriers.melhorenvio.auth import MelhorEnvioSession
from carriers.melhorenvio.ids import asked, check_code, stored
from carriers.melhorenvio.parse import CARRIER, not_found, parse

TRACK_PATH = "/api/v2/me/shipment/tracking"
BATCH_LIMIT = 100  # order ids per tracking call: Melhor Envio publishes no limit; kept modest
REQUESTS_PER_SECOND = 2.0  # no published rate limit found for this call; a conservative pace
INVALID = "invalid_code"
_ORDER_ERROR = re.compile(r"orders\.(\d+)")


class MelhorEnvioClient:
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
        self._session = MelhorEnvioSession(account, http)
        self._sleep = sleep
        self._retry = retry

    async def track(self, codes: Sequence[str]) -> list[TrackingResult]:
        if not 0 < len(codes) <= BATCH_LIMIT:
            raise ValueError(f"track() takes 1 to {BATCH_LIMIT} codes, got {len(codes)}")
        results: list[TrackingResult] = []
        remaining: list[str] = []
        for code in codes:
            problem = check_code(code)
            if problem:
                results.append(TrackingResult(stored(code), error=ResultError(INVALID, problem, final=True)))
            else:
                remaining.append(code)
        while remaining:
            status, body = await with_retries(partial(self._ask, remaining), sleep=self._sleep, policy=self._retry)
            if status == 422:
                unknown = _unknown_indexes(body, len(remaining))
                results.extend(not_found(remaining[i]) for i in sorted(unknown))
                remaining = [code for i, code in enumerate(remaining) if i not in unknown]
                continue
            answered = {r.tracking_code: r for r in parse(body)}
            for code in remaining:
                results.append(answered.get(stored(code)) or not_found(code))
            break
        return results

    async def _ask(self, codes: Sequence[str]) -> tuple[int, Any]:
        response = await self._session.request("POST", TRACK_PATH, json={"orders": [asked(c) for c in codes]})
        if response.status_code == 422:
            return 422, json_body(response, carrier=CARRIER)
        return response.status_code, json_body(checked(response, carrier=CARRIER), carrier=CARRIER)


def _unknown_indexes(body: Any, count: int) -> set[int]:
    """The positions a 422 validation answer names (``errors: {"orders.3": [...]}``); ContractError if none."""
    errors = body.get("errors") if isinstance(body, dict) else None
    found = set()
    if isinstance(errors, dict):
        for key in errors:
            match = _ORDER_ERROR.fullmatch(str(key))
            if match and int(match.group(1)) < count:
                found.add(int(match.group(1)))
    if not found:
        message = body.get("message") if isinstance(body, dict) else body
        raise ContractError(
            f"POST {TRACK_PATH} answered HTTP 422 naming no order (expected errors keyed 'orders.<index>'): "
            f"{str(message)[:200]!r}",
            carrier=CARRIER,
        )
    return found
