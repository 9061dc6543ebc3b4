"""The Loggi token against respx: one fresh token for many refusals, an expiry already past, and every malformed
token answer a carrier fault (or, for the optional lifetime fields, ignored) — never an internal error."""

import asyncio
import base64
import json
import logging
from datetime import timedelta
from typing import Any

import httpx
import pytest
import respx

from carriers.base import CarrierError, ContractError, MalformedResponse, Status
from carriers.loggi.client import LoggiClient
from tests.carriers.loggi.samples import CODE, journey, package
from tests.carriers.loggi.test_client import ACCOUNT, BASE, TOKEN, TRACK, jwt
from tests.support import RecordingSleep
from tracker.clock import SimulatedClock

ANSWER = {"packages": [package(journey())]}
SECRET = "eyJ-the-token-itself"
CALLS = 8
FLOOR = timedelta(minutes=5)  # carriers.base.tokens.MIN_REFRESH: a token answer is used at least this long


@pytest.fixture
def mock() -> Any:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        yield router


def client(http: httpx.AsyncClient, clock: SimulatedClock, sleep: RecordingSleep) -> LoggiClient:
    return LoggiClient(ACCOUNT, http, clock.now, sleep)


def claims(payload: bytes) -> str:
    return f"eyJhbGciOiJub25lIn0.{base64.urlsafe_b64encode(payload).decode().rstrip('=')}.sig"


async def test_eight_concurrent_refusals_of_one_token_fetch_one_fresh_token(
    mock: Any, clock: SimulatedClock, sleep: RecordingSleep
) -> None:
    token = mock.post(TOKEN).mock(
        side_effect=[httpx.Response(200, json={"idToken": "old"}), httpx.Response(200, json={"idToken": "new"})]
    )
    all_sent = asyncio.Event()
    refused: list[str] = []

    async def answer(request: httpx.Request) -> httpx.Response:
        if request.headers["Authorization"] == "Bearer new":
            return httpx.Response(200, json=ANSWER)
        refused.append(request.headers["Authorization"])
        if len(refused) == CALLS:
            all_sent.set()
        await asyncio.wait_for(all_sent.wait(), 5)  # every call holds "old" before any is refused
        return httpx.Response(401)

    mock.get(TRACK).mock(side_effect=answer)
    http = httpx.AsyncClient()
    trackers = [client(http, clock, sleep) for _ in range(CALLS)]
    results = await asyncio.gather(*(t.track([CODE]) for t in trackers))
    assert [r[0].status for r in results] == [Status.DELIVERED] * CALLS
    assert refused == ["Bearer old"] * CALLS
    assert token.call_count == 2


async def test_an_exp_already_past_fetches_one_token_for_twenty_calls_and_warns_once(
    mock: Any, clock: SimulatedClock, sleep: RecordingSleep, caplog: pytest.LogCaptureFixture
) -> None:
    token = mock.post(TOKEN).respond(200, json={"idToken": jwt((clock.now() - timedelta(hours=1)).timestamp())})
    track = mock.get(TRACK).respond(200, json=ANSWER)
    tracker = client(httpx.AsyncClient(), clock, sleep)
    with caplog.at_level(logging.WARNING, logger="carriers.loggi.auth"):
        for _ in range(20):
            await tracker.track([CODE])
    assert token.call_count == 1 and track.call_count == 20
    warnings = [r.getMessage() for r in caplog.records if "loggi_token_expiry_in_past" in r.getMessage()]
    assert len(warnings) == 1 and "'loja'" in warnings[0] and "eyJ" not in caplog.text
    clock.advance(FLOOR)
    await tracker.track([CODE])
    assert token.call_count == 2


# lifetime fields a token answer may carry that no date-time can hold, or that are not numbers: not read (one hour)
UNREADABLE_LIFETIMES = [
    pytest.param({"expiresIn": 1e300}, id="expiresIn-huge"),
    pytest.param({"expiresIn": "99999999999999999999"}, id="expiresIn-huge-digits"),
    pytest.param({"expiresIn": "²"}, id="expiresIn-superscript-digit"),
    pytest.param({"expiresIn": "9" * 5000}, id="expiresIn-thousands-of-digits"),
    pytest.param({"expires_in": -60}, id="expires_in-negative"),
    pytest.param({"expires_in": [60]}, id="expires_in-list"),
    pytest.param({"idToken": claims(b'{"exp": 1e300}')}, id="exp-huge"),
    pytest.param({"idToken": claims(b'{"exp": -1e20}')}, id="exp-before-any-date"),
    pytest.param({"idToken": claims(b'{"exp": "tomorrow"}')}, id="exp-words"),
    pytest.param({"idToken": claims(b"[" * 5000 + b"]" * 5000)}, id="claims-nested-too-deep"),
    pytest.param({"idToken": claims(b"\xff\xfe")}, id="claims-not-utf8"),
]


@pytest.mark.parametrize("fields", UNREADABLE_LIFETIMES)
async def test_an_unreadable_lifetime_is_taken_as_one_hour(
    mock: Any, clock: SimulatedClock, sleep: RecordingSleep, fields: dict[str, Any]
) -> None:
    token = mock.post(TOKEN).respond(200, json={"idToken": "t", **fields})
    mock.get(TRACK).respond(200, json=ANSWER)
    tracker = client(httpx.AsyncClient(), clock, sleep)
    await tracker.track([CODE])
    clock.advance(timedelta(minutes=54))
    await tracker.track([CODE])
    assert token.call_count == 1
    clock.advance(timedelta(minutes=2))
    await tracker.track([CODE])
    assert token.call_count == 2


async def test_infinity_as_a_lifetime_is_taken_as_one_hour(
    mock: Any, clock: SimulatedClock, sleep: RecordingSleep
) -> None:
    token = mock.post(TOKEN).respond(200, content=b'{"idToken": "t", "expiresIn": Infinity}')
    mock.get(TRACK).respond(200, json=ANSWER)
    tracker = client(httpx.AsyncClient(), clock, sleep)
    await tracker.track([CODE])
    clock.advance(timedelta(minutes=56))
    await tracker.track([CODE])
    assert token.call_count == 2


def as_json(body: Any) -> bytes:
    return json.dumps(body).encode()


MALFORMED = [
    pytest.param(b"null", ContractError, "token answer is not a JSON object: NoneType", id="null"),
    pytest.param(b'"a string"', ContractError, "token answer is not a JSON object: str", id="string"),
    pytest.param(as_json([{"idToken": SECRET}]), ContractError, "not a JSON object: list", id="list"),
    pytest.param(b"<html>erro</html>", MalformedResponse, "not JSON", id="html"),
    pytest.param(b'{"idToken": "' + SECRET.encode(), MalformedResponse, "not JSON", id="truncated"),
    pytest.param(b"[" * 100_000 + b"]" * 100_000, MalformedResponse, "not JSON", id="nested-too-deep"),
    pytest.param(as_json({"id_token": SECRET}), ContractError, "lacks 'idToken': keys ['id_token']", id="no-token"),
    pytest.param(as_json({"idToken": None}), ContractError, "'idToken' is NoneType, expected a", id="token-null"),
    pytest.param(as_json({"idToken": 7}), ContractError, "'idToken' is int, expected a", id="token-int"),
    pytest.param(as_json({"idToken": "  "}), ContractError, "'idToken' is empty", id="token-blank"),
    pytest.param(as_json({"idToken": SECRET + "é"}), ContractError, "'idToken' is a 21-character", id="non-ascii"),
    pytest.param(as_json({"idToken": "a.éé.c"}), ContractError, "'idToken' is a 6-character", id="non-ascii-jwt"),
]


@pytest.mark.parametrize(("body", "fault", "message"), MALFORMED)
async def test_a_malformed_token_answer_is_a_carrier_fault_naming_the_field_never_the_token(
    mock: Any, clock: SimulatedClock, sleep: RecordingSleep, body: bytes, fault: type[CarrierError], message: str
) -> None:
    mock.post(TOKEN).respond(200, content=body)
    track = mock.get(TRACK).respond(200, json=ANSWER)
    with pytest.raises(fault) as info:
        await client(httpx.AsyncClient(), clock, sleep).track([CODE])
    assert message in str(info.value)
    assert SECRET not in str(info.value) and len(str(info.value)) < 400
    assert track.call_count == 0
