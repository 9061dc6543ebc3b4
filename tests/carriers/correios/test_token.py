"""The Correios CWS token against respx: one fresh token for many refusals, an expiry already past, and every
malformed token answer a carrier fault that names the field and never the token."""

import asyncio
import json
import logging
from datetime import timedelta
from typing import Any

import httpx
import pytest
import respx

from carriers.base import AccountConfig, CarrierError, ContractError, MalformedResponse
from carriers.correios.client import CorreiosClient
from carriers.correios.cws import CwsSession
from tests.support import RecordingSleep
from tracker.clock import SimulatedClock

BASE = "https://cws.test"
ACCOUNT = AccountConfig(
    id=1,
    carrier="correios",
    name="loja",
    base_url=BASE,
    credentials={"user": "12345678000199", "access_code": "abc", "posting_card": "0067599079"},
)
TOKEN = "/token/v1/autentica/cartaopostagem"
TRACK = "/srorastro/v1/objetos"
CODE = "SS000000017BR"
OK_BODY = {"objetos": [{"codObjeto": CODE, "mensagem": "SRO-020: Objeto não encontrado"}]}
SECRET = "eyJ-the-token-itself"  # must never reach a message or a log line
CALLS = 8
FLOOR = timedelta(minutes=5)  # carriers.base.tokens.FLOOR: a token answer is used at least this long


def token_body(token: Any = SECRET, expires: Any = "2026-11-03T08:00:00", **extra: Any) -> dict[str, Any]:
    return {"token": token, "expiraEm": expires, "ambiente": "PRODUCAO", **extra}


@pytest.fixture
def mock() -> Any:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        yield router


def client(http: httpx.AsyncClient, clock: SimulatedClock, sleep: RecordingSleep) -> CorreiosClient:
    return CorreiosClient(ACCOUNT, http, clock.now, sleep)


async def test_concurrent_refusals_of_one_token_fetch_one_fresh_token(
    mock: Any, clock: SimulatedClock, sleep: RecordingSleep
) -> None:
    token = mock.post(TOKEN).mock(
        side_effect=[httpx.Response(201, json=token_body("old")), httpx.Response(201, json=token_body("new"))]
    )
    all_sent = asyncio.Event()
    refused: list[str] = []

    async def answer(request: httpx.Request) -> httpx.Response:
        if request.headers["Authorization"] == "Bearer new":
            return httpx.Response(200, json=OK_BODY)
        refused.append(request.headers["Authorization"])
        if len(refused) == CALLS:
            all_sent.set()
        await asyncio.wait_for(all_sent.wait(), 5)  # every call holds "old" before any is refused
        return httpx.Response(401)

    track = mock.get(TRACK).mock(side_effect=answer)
    http = httpx.AsyncClient()
    trackers = [client(http, clock, sleep) for _ in range(CALLS)]  # one token slot: same client, same account
    results = await asyncio.gather(*(t.track([CODE]) for t in trackers))
    assert all(r[0].error is not None and r[0].error.code == "SRO-020" for r in results)
    assert refused == ["Bearer old"] * CALLS
    assert track.call_count == 2 * CALLS
    assert token.call_count == 2  # "old", then one fresh "new" for all eight refusals


async def test_an_expiry_already_past_fetches_one_token_for_twenty_calls_and_warns_once(
    mock: Any, clock: SimulatedClock, sleep: RecordingSleep, caplog: pytest.LogCaptureFixture
) -> None:
    # clock: 2026-11-02 08:00 in Brasília; the carrier says the token expired an hour ago (its clock ahead)
    token = mock.post(TOKEN).respond(201, json=token_body(expires="2026-11-02T07:00:00"))
    track = mock.get(TRACK).respond(200, json=OK_BODY)
    tracker = client(httpx.AsyncClient(), clock, sleep)
    with caplog.at_level(logging.WARNING, logger="carriers.correios.cws"):
        for _ in range(20):
            await tracker.track([CODE])
    assert token.call_count == 1 and track.call_count == 20
    warnings = [r for r in caplog.records if "correios_token_expiry_in_past" in r.getMessage()]
    assert len(warnings) == 1
    assert "'loja'" in warnings[0].getMessage() and "2026-11-02T07:00:00-03:00" in warnings[0].getMessage()
    assert SECRET not in caplog.text
    clock.advance(FLOOR)  # used for the floor, then replaced
    await tracker.track([CODE])
    assert token.call_count == 2


async def test_an_expiry_sooner_than_the_floor_is_refreshed_at_the_floor(
    mock: Any, clock: SimulatedClock, sleep: RecordingSleep
) -> None:
    token = mock.post(TOKEN).respond(201, json=token_body(expires="2026-11-02T08:01:00"))
    mock.get(TRACK).respond(200, json=OK_BODY)
    tracker = client(httpx.AsyncClient(), clock, sleep)
    await tracker.track([CODE])
    clock.advance(FLOOR / 2)
    await tracker.track([CODE])
    assert token.call_count == 1


DEEP = b"[" * 100_000 + b"]" * 100_000


def as_json(body: Any) -> bytes:
    return json.dumps(body).encode()


# (token answer body, the fault, what its message says)
MALFORMED = [
    pytest.param(b"null", ContractError, "token answer is not a JSON object: NoneType", id="null"),
    pytest.param(b'"a string"', ContractError, "token answer is not a JSON object: str", id="string"),
    pytest.param(b"42", ContractError, "token answer is not a JSON object: int", id="number"),
    pytest.param(as_json([token_body()]), ContractError, "token answer is not a JSON object: list", id="list"),
    pytest.param(b"<html><body>Manuten\xc3\xa7\xc3\xa3o</body></html>", MalformedResponse, "not JSON", id="html"),
    pytest.param(b"", MalformedResponse, "not JSON", id="empty"),
    pytest.param(b'{"token": "' + SECRET.encode(), MalformedResponse, "not JSON", id="truncated"),
    pytest.param(b"x" * 2_000_000, MalformedResponse, "not JSON", id="huge-garbage"),
    pytest.param(DEEP, MalformedResponse, "not JSON", id="nested-too-deep"),
    pytest.param(as_json({}), ContractError, "lacks 'token' and 'expiraEm': keys []", id="no-fields"),
    pytest.param(as_json({"token": SECRET}), ContractError, "lacks 'expiraEm': keys ['token']", id="no-expiraEm"),
    pytest.param(as_json({"expiraEm": "2026-11-03T08:00:00"}), ContractError, "lacks 'token'", id="no-token"),
    pytest.param(as_json(token_body(token=None)), ContractError, "'token' is NoneType, expected a", id="token-null"),
    pytest.param(as_json(token_body(token=12345)), ContractError, "'token' is int, expected a", id="token-int"),
    pytest.param(as_json(token_body(token=[SECRET])), ContractError, "'token' is list, expected", id="token-list"),
    pytest.param(as_json(token_body(token="")), ContractError, "'token' is empty", id="token-empty"),
    pytest.param(as_json(token_body(token=SECRET + "é")), ContractError, "'token' is a 21-character", id="non-ascii"),
    pytest.param(as_json(token_body(token=SECRET + "\r\nX: 1")), ContractError, "'token' is a 26-char", id="crlf"),
    pytest.param(
        as_json(token_body(expires="2026-13-45T99:00:00")),
        ContractError,
        "'expiraEm' '2026-13-45T99:00:00' is not an ISO date-time (expected like 2026-11-03T08:00:00)",
        id="expiraEm-impossible-date",
    ),
    pytest.param(as_json(token_body(expires="amanhã")), ContractError, "'expiraEm' 'amanhã' is not", id="words"),
    pytest.param(as_json(token_body(expires="9" * 100_000)), ContractError, f"'{'9' * 40}' is not", id="huge-date"),
    pytest.param(as_json(token_body(expires=1762164000)), ContractError, "'expiraEm' is int, expected", id="epoch"),
    pytest.param(as_json(token_body(expires=None)), ContractError, "'expiraEm' is NoneType", id="expiraEm-null"),
    pytest.param(as_json(token_body(expires={"d": 1})), ContractError, "'expiraEm' is dict", id="expiraEm-object"),
]


@pytest.mark.parametrize(("body", "fault", "message"), MALFORMED)
async def test_a_malformed_token_answer_is_a_carrier_fault_naming_the_field_never_the_token(
    mock: Any, clock: SimulatedClock, sleep: RecordingSleep, body: bytes, fault: type[CarrierError], message: str
) -> None:
    mock.post(TOKEN).respond(201, content=body)
    track = mock.get(TRACK).respond(200, json=OK_BODY)
    with pytest.raises(fault) as info:
        await client(httpx.AsyncClient(), clock, sleep).track([CODE])
    assert message in str(info.value)
    assert SECRET not in str(info.value) and len(str(info.value)) < 400
    assert track.call_count == 0


@pytest.mark.parametrize(
    "card", [[{"contrato": "9912208555"}], "9912208555", None, {"contrato": ["x"]}, {"contrato": True}]
)
async def test_an_unreadable_posting_card_leaves_the_contract_unknown_and_the_token_usable(
    mock: Any, clock: SimulatedClock, sleep: RecordingSleep, card: Any
) -> None:
    mock.post(TOKEN).respond(201, json=token_body(cartaoPostagem=card))
    mock.get(TRACK).respond(200, json=OK_BODY)
    http = httpx.AsyncClient()
    [result] = await client(http, clock, sleep).track([CODE])
    assert result.tracking_code == CODE
    assert await CwsSession(ACCOUNT, http, clock.now, sleep).contract() is None


async def test_a_large_token_answer_with_the_fields_is_read(
    mock: Any, clock: SimulatedClock, sleep: RecordingSleep
) -> None:
    mock.post(TOKEN).respond(201, json=token_body(padding="x" * 2_000_000, cartaoPostagem={"contrato": 9912208555}))
    track = mock.get(TRACK).respond(200, json=OK_BODY)
    http = httpx.AsyncClient()
    await client(http, clock, sleep).track([CODE])
    assert track.calls[0].request.headers["Authorization"] == f"Bearer {SECRET}"
    assert await CwsSession(ACCOUNT, http, clock.now, sleep).contract() == "9912208555"
