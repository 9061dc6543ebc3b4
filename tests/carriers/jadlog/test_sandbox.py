"""The sandbox speaking Jadlog, read by the Jadlog client: every built-in scenario ends, and passes through, the
same normalized statuses (and reasons) as its Correios rendering; the Bearer check, the gate and the batch limit."""

import asyncio
import zlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from carriers.base import (
    AccountConfig,
    AuthFailed,
    CarrierUnavailable,
    RateLimited,
    Reason,
    TrackingResult,
)
from carriers.correios.parse import parse as parse_correios
from carriers.correios.s10 import make_code
from carriers.jadlog import JadlogClient
from carriers.jadlog.codes import table
from carriers.sandbox import Faults, Parcel, SandboxClock, SandboxState, create_app, scenario_names
from carriers.sandbox.jadlog import BATCH_LIMIT, TRACK_PATH, spoken, status_text
from carriers.sandbox.scenarios import SHIFT_MINUTES, load_scenarios
from tests.support import RecordingSleep

START = datetime(2026, 11, 2, 11, 0, tzinfo=UTC)  # a Monday, 08:00 in Brasília
TOKEN = "eyJhbGciOiJIUzI1NiJ9.c2FuZGJveA.c2ln"
HEADERS = {"Authorization": f"Bearer {TOKEN}"}


def shift(code: str) -> int:
    return zlib.crc32(code.encode()) % SHIFT_MINUTES


def twin_codes(serial: int) -> tuple[str, str]:
    """A Correios code and a Jadlog shipmentId whose timelines are shifted alike, so both play at one instant."""
    correios = make_code("SS", serial)
    jadlog = next(c for n in range(10_000) if shift(c := f"1008{serial % 10**6:06d}{n:04d}") == shift(correios))
    return correios, jadlog


@pytest.fixture
def state() -> SandboxState:
    return SandboxState(SandboxClock(START))


@pytest.fixture
async def http(state: SandboxState) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(state))
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
        yield client


def jadlog_client(http: httpx.AsyncClient, token: str = TOKEN, sleep: Any = None) -> JadlogClient:
    account = AccountConfig(1, "jadlog", "loja", "http://sandbox", {"token": token})
    return JadlogClient(account, http, lambda: START, sleep or RecordingSleep())


def correios_at(state: SandboxState, code: str, when: datetime) -> TrackingResult:
    [result] = parse_correios({"objetos": state.render([code], when)})
    return result


def reasons(result: TrackingResult) -> set[Reason]:
    return {e.reason for e in result.live_events if e.reason is not None}


def instants(scenario: str) -> list[datetime]:
    """Just before and at each event of the story (shift included), before the start and long after the end."""
    hours = [event.at_h for event in load_scenarios()[scenario].events]
    return [START - timedelta(hours=1), START + timedelta(days=90)] + [
        START + timedelta(hours=h) + delta for h in hours for delta in (timedelta(seconds=-1), timedelta(0))
    ]


@pytest.mark.parametrize("scenario", scenario_names())
async def test_every_scenario_plays_the_same_statuses_as_its_correios_rendering(
    state: SandboxState, http: httpx.AsyncClient, scenario: str
) -> None:
    serial = 10_000_000 + scenario_names().index(scenario)
    correios, jadlog = twin_codes(serial)
    if scenario == "invalid":
        correios, jadlog = "SS000000000XX", "JAD-INVALIDO"
    state.register([Parcel(correios, scenario, START), Parcel(jadlog, scenario, START, carrier="jadlog")])
    client = jadlog_client(http)
    for when in sorted(instants(scenario)):
        offset = timedelta(minutes=shift(jadlog))
        state.set_clock(when + offset)
        [result] = await client.track([jadlog])
        expected = correios_at(state, correios, when + offset)
        assert result.tracking_code == jadlog
        assert result.status is expected.status, f"{scenario} at {when + offset:%Y-%m-%d %H:%M:%S}"
        assert (result.error and result.error.final) == (expected.error and expected.error.final)
        assert (result.error is None) == (expected.error is None)
        assert result.expected_delivery == expected.expected_delivery
        assert reasons(result) == reasons(expected)  # what the incidents are raised from


def test_every_scenario_event_is_said_in_jadlog_words() -> None:
    for scenario in load_scenarios().values():
        for event in scenario.events:
            text = status_text(event)
            if event.type == "BDE" and event.status == "99":
                assert text == "EVENTO DE TESTE DESCONHECIDO" and table().lookup(text) is None
            elif event.type != "EST":
                assert table().lookup(text) is not None, event


def test_a_reversal_withdraws_the_event_before_it() -> None:
    events = load_scenarios()["reversal"].events
    timeline = [(event, START + event.offset) for event in events]
    said = spoken(tuple(timeline))
    assert [e["status"] for e in said] == ["EMISSAO", "TRANSFERENCIA", "TRANSFERENCIA", "EM ROTA", "ENTREGUE"]
    assert said[0] == {"data": "2026-11-02 08:00:00", "status": "EMISSAO", "unidade": "São Paulo/SP"}


async def test_the_answer_speaks_the_jadlog_shape(state: SandboxState, http: httpx.AsyncClient) -> None:
    _, code = twin_codes(20_000_000)
    state.register([Parcel(code, "failed_attempts", START, carrier="jadlog")])
    state.set_clock(START + timedelta(days=10))
    response = await http.post(TRACK_PATH, json={"consulta": [{"shipmentId": code}]}, headers=HEADERS)
    assert response.status_code == 200
    [item] = response.json()["consulta"]
    assert item["shipmentId"] == code and item["previsaoEntrega"] == "2026-11-08"
    assert item["tracking"]["status"] == "ENTREGUE" and "erro" not in item
    statuses = [e["status"] for e in item["tracking"]["eventos"]]
    assert statuses == [
        "EMISSAO",
        "TRANSFERENCIA",
        "TRANSFERENCIA",
        "EM ROTA",
        "DESTINATARIO AUSENTE",
        "EM ROTA",
        "ENTREGUE",
    ]
    assert all(set(e) == {"data", "status", "unidade"} for e in item["tracking"]["eventos"])
    assert state.stats()["requests"]["jadlog_track"] == 1


async def test_unknown_codes_answer_not_found_or_invalid_as_erro(http: httpx.AsyncClient) -> None:
    body = {"consulta": [{"shipmentId": "10082200000001"}, {"codigo": "ABC"}, {"cte": "1234567"}]}
    response = await http.post(TRACK_PATH, json=body, headers=HEADERS)
    assert response.status_code == 200
    missing, invalid, cte = response.json()["consulta"]
    assert missing["shipmentId"] == "10082200000001" and missing["erro"]["descricao"] == "Não localizado"
    assert invalid["codigo"] == "ABC" and invalid["erro"]["descricao"] == "Código inválido"
    assert cte["cte"] == "1234567" and "erro" in cte


async def test_a_parcel_before_its_first_event_is_not_found_and_polled_on(
    state: SandboxState, http: httpx.AsyncClient
) -> None:
    _, code = twin_codes(20_000_001)
    state.register([Parcel(code, "on_time", START + timedelta(days=1), carrier="jadlog")])
    [result] = await jadlog_client(http).track([code])
    assert result.error is not None and result.error.code == "nao_localizado" and not result.error.final


def test_a_jadlog_parcel_needs_a_shipment_id_outside_the_invalid_scenario(state: SandboxState) -> None:
    with pytest.raises(ValueError, match="not a Jadlog shipmentId"):
        state.register([Parcel("SS123456785BR", "on_time", START, carrier="jadlog")])
    assert state.parcels == {}


@pytest.mark.parametrize("authorization", [None, "", "Bearer", "Bearer   ", "Bearer wrong", f"Basic {TOKEN}"])
async def test_a_missing_or_wrong_token_is_401(http: httpx.AsyncClient, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = await http.post(TRACK_PATH, json={"consulta": [{"shipmentId": "10082200000001"}]}, headers=headers)
    assert response.status_code == 401 and "Token" in response.json()["erro"]["descricao"]


async def test_the_client_raises_auth_failed_on_the_wrong_token(http: httpx.AsyncClient) -> None:
    with pytest.raises(AuthFailed, match="HTTP 401"):
        await jadlog_client(http, token="wrong").track(["10082200000001"])


async def test_more_than_the_batch_limit_is_400(http: httpx.AsyncClient) -> None:
    consulta = [{"shipmentId": f"100822{n:08d}"} for n in range(BATCH_LIMIT + 1)]
    response = await http.post(TRACK_PATH, json={"consulta": consulta}, headers=HEADERS)
    assert response.status_code == 400 and "51 consultas" in response.json()["erro"]["descricao"]
    response = await http.post(TRACK_PATH, json={"consulta": consulta[:BATCH_LIMIT]}, headers=HEADERS)
    assert response.status_code == 200 and len(response.json()["consulta"]) == BATCH_LIMIT


@pytest.mark.parametrize(
    "content",
    [
        b"not json",
        b"[]",
        b'{"consulta": []}',
        b'{"consulta": {}}',
        b'{"consulta": [{"nf": "1"}]}',
        b'{"consulta": [7]}',
    ],
)
async def test_a_malformed_body_is_400(http: httpx.AsyncClient, content: bytes) -> None:
    headers = HEADERS | {"Content-Type": "application/json"}
    response = await http.post(TRACK_PATH, content=content, headers=headers)
    assert response.status_code == 400 and response.json()["erro"]["descricao"]


async def test_an_outage_is_retried_then_raised(state: SandboxState, http: httpx.AsyncClient) -> None:
    state.faults.outages.append((START - timedelta(hours=1), START + timedelta(hours=1)))
    sleep = RecordingSleep()
    with pytest.raises(CarrierUnavailable, match="HTTP 503"):
        await jadlog_client(http, sleep=sleep).track(["10082200000001"])
    assert state.stats()["statuses"] == {"503": 4} and len(sleep.waits) == 3


async def test_the_rate_limit_is_per_token_and_honoured_by_the_client(http: httpx.AsyncClient) -> None:
    clock = [0.0]
    state = SandboxState(SandboxClock(START), faults=Faults(rate_limit_per_s=1.0), monotonic=lambda: clock[0])
    transport = httpx.ASGITransport(app=create_app(state))
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as limited:
        body = {"consulta": [{"shipmentId": "10082200000001"}]}
        assert (await limited.post(TRACK_PATH, json=body, headers=HEADERS)).status_code == 200
        refused = await limited.post(TRACK_PATH, json=body, headers=HEADERS)
        assert refused.status_code == 429 and refused.headers["Retry-After"] == "1"
        other = await limited.post(TRACK_PATH, json=body, headers={"Authorization": "Bearer another"})
        assert other.status_code == 200

        async def sleep(seconds: float) -> None:
            clock[0] += seconds
            await asyncio.sleep(0)

        [result] = await jadlog_client(limited, sleep=sleep).track(["10082200000001"])
        assert result.error is not None and clock[0] >= 1.0
        state.faults.rate_limit_per_s = 0.001
        with pytest.raises(RateLimited):
            await jadlog_client(limited, sleep=RecordingSleep()).track(["10082200000001"])


async def test_the_injected_error_rate_answers_503(state: SandboxState, http: httpx.AsyncClient) -> None:
    state.faults.error_rate["jadlog"] = 1.0
    body = {"consulta": [{"shipmentId": "10082200000001"}]}
    assert (await http.post(TRACK_PATH, json=body, headers=HEADERS)).status_code == 503
    state.faults.error_rate["jadlog"] = 0.0
    assert (await http.post(TRACK_PATH, json=body, headers=HEADERS)).status_code == 200
