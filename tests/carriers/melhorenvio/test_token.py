"""The Melhor Envio token renewal against respx: one renewal for many refusals of the same access token, and every
malformed token answer a carrier fault that names the field, never the token."""

import asyncio
import json
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
import respx

from carriers.base import CarrierError, ContractError, MalformedResponse, Status
from tests.carriers.melhorenvio.test_client import BASE, ID, REFRESH, TOKEN, TRACK, answer, client
from tests.support import RecordingSleep
from tracker.clock import SimulatedClock

SECRET = "eyJ-the-token-itself"
CALLS = 8


@pytest.fixture
def mock() -> Any:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        yield router


async def test_eight_concurrent_refusals_of_one_access_token_renew_it_once(
    mock: respx.MockRouter, clock: SimulatedClock, sleep: RecordingSleep
) -> None:
    token = mock.post(TOKEN).mock(
        side_effect=[
            httpx.Response(200, json={"access_token": "tok-2", "refresh_token": "ref-2"}),
            httpx.Response(200, json={"access_token": "tok-3", "refresh_token": "ref-3"}),
        ]
    )
    all_sent = asyncio.Event()
    refused: list[str] = []

    async def tracking(request: httpx.Request) -> httpx.Response:
        if request.headers["Authorization"] == "Bearer tok-2":
            return httpx.Response(200, json=answer(ID))
        refused.append(request.headers["Authorization"])
        if len(refused) == CALLS:
            all_sent.set()
        await asyncio.wait_for(all_sent.wait(), 5)  # every call holds "tok-1" before any is refused
        return httpx.Response(401)

    mock.post(TRACK).mock(side_effect=tracking)
    http = httpx.AsyncClient()
    trackers = [client(clock, sleep, http, **REFRESH) for _ in range(CALLS)]
    results = await asyncio.gather(*(t.track([ID]) for t in trackers))
    assert [r[0].status for r in results] == [Status.POSTED] * CALLS
    assert refused == ["Bearer tok-1"] * CALLS
    assert token.call_count == 1  # a second renewal would also spend the rotated refresh token
    assert parse_qs(token.calls[0].request.content.decode())["refresh_token"] == ["ref-1"]


def as_json(body: Any) -> bytes:
    return json.dumps(body).encode()


MALFORMED = [
    pytest.param(b"null", ContractError, "token answer is not a JSON object: NoneType", id="null"),
    pytest.param(b'"a string"', ContractError, "token answer is not a JSON object: str", id="string"),
    pytest.param(as_json([{"access_token": SECRET}]), ContractError, "not a JSON object: list", id="list"),
    pytest.param(b"<html>erro</html>", MalformedResponse, "not JSON", id="html"),
    pytest.param(b'{"access_token": "' + SECRET.encode(), MalformedResponse, "not JSON", id="truncated"),
    pytest.param(b"[" * 100_000 + b"]" * 100_000, MalformedResponse, "not JSON", id="nested-too-deep"),
    pytest.param(as_json({"token": SECRET}), ContractError, "lacks 'access_token': keys ['token']", id="no-token"),
    pytest.param(as_json({"access_token": None}), ContractError, "'access_token' is NoneType", id="token-null"),
    pytest.param(as_json({"access_token": 7}), ContractError, "'access_token' is int, expected a", id="token-int"),
    pytest.param(as_json({"access_token": ""}), ContractError, "'access_token' is empty", id="token-empty"),
    pytest.param(as_json({"access_token": SECRET + "é"}), ContractError, "is a 21-character", id="non-ascii"),
    pytest.param(as_json({"access_token": "Bearer " + SECRET}), ContractError, "is a 27-character", id="space"),
]


@pytest.mark.parametrize(("body", "fault", "message"), MALFORMED)
async def test_a_malformed_token_answer_is_a_carrier_fault_naming_the_field_never_the_token(
    mock: respx.MockRouter,
    clock: SimulatedClock,
    sleep: RecordingSleep,
    body: bytes,
    fault: type[CarrierError],
    message: str,
) -> None:
    mock.post(TOKEN).respond(200, content=body)
    mock.post(TRACK).respond(401)
    with pytest.raises(fault) as info:
        await client(clock, sleep, **REFRESH).track([ID])
    assert message in str(info.value)
    assert SECRET not in str(info.value) and len(str(info.value)) < 400
