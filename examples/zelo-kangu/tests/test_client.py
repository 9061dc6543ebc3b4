"""The Kangu client over an injected httpx client (a MockTransport): the request, auth faults, retries, limits."""

import json
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest
from carriers.base import AccountConfig, AuthFailed, CarrierUnavailable, Status, TrackingResult
from carriers.base.retry import RetryPolicy

from zelo_kangu.client import BATCH_LIMIT, KanguClient

ACCOUNT = AccountConfig(1, "kangu", "loja-sp", "https://kangu.test/", {"api_token": "tok-123"})
ANSWER = {
    "parcels": [
        {"tracking_code": "KG0012345678", "events": [{"code": "POSTADO", "happened_at": "2026-11-02T10:00:00Z"}]}
    ]
}
Handler = Callable[[httpx.Request], httpx.Response]


def now() -> datetime:
    return datetime.now(UTC)


async def no_sleep(seconds: float) -> None:
    return None


async def track(handler: Handler, codes: list[str]) -> list[TrackingResult]:
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        client = KanguClient(ACCOUNT, http, now, no_sleep, retry=RetryPolicy(attempts=2))
        return await client.track(codes)


def answering(response: httpx.Response, seen: list[httpx.Request]) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return response

    return handler


async def test_codes_go_in_one_authenticated_call() -> None:
    seen: list[httpx.Request] = []
    (result,) = await track(answering(httpx.Response(200, json=ANSWER), seen), ["KG0012345678"] * 2 + ["KG0012345679"])
    assert result.status is Status.POSTED
    (request,) = seen
    assert str(request.url) == "https://kangu.test/v1/tracking?codes=KG0012345678%2CKG0012345679"
    assert request.headers["Authorization"] == "Bearer tok-123"


async def test_a_refused_token_is_an_auth_failure_at_once() -> None:
    seen: list[httpx.Request] = []
    with pytest.raises(AuthFailed, match=r"refused the api_token of account 'loja-sp' \(HTTP 401\)"):
        await track(answering(httpx.Response(401, json={"message": "invalid token"}), seen), ["KG0012345678"])
    assert len(seen) == 1


async def test_a_5xx_is_retried_then_raised_without_echoing_the_body() -> None:
    seen: list[httpx.Request] = []
    body = json.dumps({"recipient": "Maria da Silva"})
    with pytest.raises(CarrierUnavailable) as raised:
        await track(answering(httpx.Response(503, text=body), seen), ["KG0012345678"])
    assert len(seen) == 2
    assert "Maria" not in str(raised.value)


async def test_a_batch_is_bounded() -> None:
    codes = [f"KG{n:010d}" for n in range(BATCH_LIMIT + 1)]
    with pytest.raises(ValueError, match=rf"track\(\) takes 1 to {BATCH_LIMIT} codes, got {BATCH_LIMIT + 1}"):
        await track(answering(httpx.Response(200, json=ANSWER), []), codes)


async def test_an_account_needs_its_token() -> None:
    no_token = AccountConfig(2, "kangu", "sem-token", "https://kangu.test", {"api_token": "  "})
    async with httpx.AsyncClient() as http:
        with pytest.raises(ValueError, match="Kangu account 'sem-token' lacks credentials: api_token"):
            KanguClient(no_token, http, now, no_sleep)
