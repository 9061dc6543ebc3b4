"""The Jadlog HTTP shell against respx: the Bearer token, batching, faults and retries."""

import json
from datetime import UTC, datetime

import httpx
import pytest
import respx

from carriers.base import (
    AccountConfig,
    AuthFailed,
    CarrierUnavailable,
    ContractError,
    MalformedResponse,
    RateLimited,
    Status,
)
from carriers.jadlog import SPEC, JadlogClient
from tests.support import RecordingSleep
from tracker.clock import SimulatedClock

BASE = "https://jadlog.test"
PATH = "/embarcador/api/tracking/consultar"
TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJsb2phIn0.c2lnbmF0dXJh"
ACCOUNT = AccountConfig(id=1, carrier="jadlog", name="loja", base_url=BASE + "/", credentials={"token": TOKEN})
CODE = "10082212345678"
NOT_FOUND = {"consulta": [{"shipmentId": CODE, "erro": {"id": -1, "descricao": "Não localizado"}}]}


@pytest.fixture
def mock() -> respx.MockRouter:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        yield router


@pytest.fixture
def client(clock: SimulatedClock, sleep: RecordingSleep) -> JadlogClient:
    return JadlogClient(ACCOUNT, httpx.AsyncClient(), clock.now, sleep)


def sent(route: respx.Route, call: int = 0) -> object:
    return json.loads(route.calls[call].request.read())


async def test_the_static_token_goes_as_bearer_with_the_codes_as_shipment_ids(
    mock: respx.MockRouter, client: JadlogClient
) -> None:
    route = mock.post(PATH).respond(200, json=NOT_FOUND)
    [result] = await client.track([CODE])
    request = route.calls[0].request
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["Content-Type"] == "application/json"
    assert str(request.url) == BASE + PATH
    assert sent(route) == {"consulta": [{"shipmentId": CODE}]}
    assert result.error is not None and result.error.code == "nao_localizado" and not result.error.final


async def test_a_batch_goes_in_one_call_up_to_the_limit(mock: respx.MockRouter, client: JadlogClient) -> None:
    codes = [f"100822{n:08d}" for n in range(50)]
    route = mock.post(PATH).respond(200, json={"consulta": [{"shipmentId": c} for c in codes]})
    results = await client.track(codes)
    assert route.call_count == 1 and client.batch_limit == 50
    assert sent(route) == {"consulta": [{"shipmentId": c} for c in codes]}
    assert [r.tracking_code for r in results] == codes
    with pytest.raises(ValueError, match="1 to 50 codes, got 51"):
        await client.track([*codes, "10082299999999"])
    with pytest.raises(ValueError, match="1 to 50 codes, got 0"):
        await client.track([])
    assert route.call_count == 1


async def test_a_code_asked_twice_is_sent_once(mock: respx.MockRouter, client: JadlogClient) -> None:
    route = mock.post(PATH).respond(200, json=NOT_FOUND)
    await client.track([CODE, CODE])
    assert sent(route) == {"consulta": [{"shipmentId": CODE}]}


async def test_a_code_not_14_digits_is_sent_as_codigo(mock: respx.MockRouter, client: JadlogClient) -> None:
    route = mock.post(PATH).respond(200, json={"consulta": [{"codigo": "JAD1"}, {"shipmentId": CODE}]})
    await client.track(["JAD1", CODE])
    assert sent(route) == {"consulta": [{"codigo": "JAD1"}, {"shipmentId": CODE}]}


@pytest.mark.parametrize("status", [401, 403])
async def test_a_refused_token_is_auth_failed_at_once(
    mock: respx.MockRouter, client: JadlogClient, sleep: RecordingSleep, status: int
) -> None:
    route = mock.post(PATH).respond(status, json={"erro": {"descricao": "Token inválido"}})
    with pytest.raises(AuthFailed) as info:
        await client.track([CODE])
    assert route.call_count == 1 and sleep.waits == []
    message = str(info.value)
    assert f"HTTP {status}" in message and "'loja'" in message and TOKEN not in message


async def test_429_honours_retry_after_then_succeeds(
    mock: respx.MockRouter, client: JadlogClient, sleep: RecordingSleep
) -> None:
    route = mock.post(PATH).mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "2"}),
            httpx.Response(429),
            httpx.Response(200, json=NOT_FOUND),
        ]
    )
    [result] = await client.track([CODE])
    assert route.call_count == 3 and result.tracking_code == CODE
    assert sleep.waits[0] == 2.0 and 0 <= sleep.waits[1] <= 1.0


async def test_429_with_a_long_retry_after_is_raised_not_slept(
    mock: respx.MockRouter, client: JadlogClient, sleep: RecordingSleep
) -> None:
    mock.post(PATH).respond(429, headers={"Retry-After": "120"})
    with pytest.raises(RateLimited) as info:
        await client.track([CODE])
    assert info.value.retry_after == 120 and sleep.waits == []


async def test_429_every_time_is_raised_after_the_attempts(
    mock: respx.MockRouter, client: JadlogClient, sleep: RecordingSleep
) -> None:
    route = mock.post(PATH).respond(429, headers={"Retry-After": "1"})
    with pytest.raises(RateLimited):
        await client.track([CODE])
    assert route.call_count == 4 and sleep.waits == [1.0, 1.0, 1.0]


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (httpx.Response(500, text="Internal Server Error"), CarrierUnavailable),
        (httpx.Response(503, text="Service Unavailable"), CarrierUnavailable),
        (httpx.ReadTimeout("slow"), CarrierUnavailable),
        (httpx.ConnectTimeout("slow"), CarrierUnavailable),
        (httpx.ConnectError("refused"), CarrierUnavailable),
        (httpx.Response(200, content=b'{"consulta": ['), MalformedResponse),
        (httpx.Response(200, content=b"<html>manutencao</html>"), MalformedResponse),
    ],
)
async def test_transient_faults_are_retried_with_backoff_then_raised(
    mock: respx.MockRouter,
    client: JadlogClient,
    sleep: RecordingSleep,
    fault: httpx.Response | Exception,
    error: type[Exception],
) -> None:
    route = mock.post(PATH).mock(side_effect=[fault] * 4)
    with pytest.raises(error) as info:
        await client.track([CODE])
    assert route.call_count == 4
    assert len(sleep.waits) == 3 and all(0 <= w <= 8 for w in sleep.waits)
    assert str(info.value).startswith("jadlog: ") and PATH in str(info.value)


async def test_a_transient_fault_then_an_answer(mock: respx.MockRouter, client: JadlogClient) -> None:
    route = mock.post(PATH).mock(
        side_effect=[httpx.ReadTimeout("slow"), httpx.Response(502), httpx.Response(200, json=NOT_FOUND)]
    )
    [result] = await client.track([CODE])
    assert route.call_count == 3 and result.tracking_code == CODE


async def test_a_wrong_shape_is_a_contract_error_not_retried(mock: respx.MockRouter, client: JadlogClient) -> None:
    route = mock.post(PATH).respond(200, json={"resultado": []})
    with pytest.raises(ContractError, match="'consulta' list"):
        await client.track([CODE])
    assert route.call_count == 1


async def test_another_4xx_is_a_contract_error_not_retried(mock: respx.MockRouter, client: JadlogClient) -> None:
    route = mock.post(PATH).respond(400, json={"erro": {"descricao": "Consulta inválida"}})
    with pytest.raises(ContractError, match="HTTP 400"):
        await client.track([CODE])
    assert route.call_count == 1


async def test_an_answer_is_parsed(mock: respx.MockRouter, client: JadlogClient) -> None:
    events = [
        {"data": "2026-11-02 09:10:00", "status": "EMISSAO", "unidade": "CO SAO PAULO 03"},
        {"data": "2026-11-03 08:00:00", "status": "EM ROTA", "unidade": "CO CAMPINAS"},
    ]
    body = {"consulta": [{"shipmentId": CODE, "previsaoEntrega": "2026-11-05", "tracking": {"eventos": events}}]}
    mock.post(PATH).respond(200, json=body)
    [result] = await client.track([CODE])
    assert result.status is Status.OUT_FOR_DELIVERY and [e.code for e in result.events] == ["EMISSAO", "EM ROTA"]


@pytest.mark.parametrize("credentials", [{}, {"token": ""}, {"token": "   "}])
def test_an_account_without_a_token_is_refused(credentials: dict[str, str]) -> None:
    account = AccountConfig(1, "jadlog", "loja", BASE, credentials)
    with pytest.raises(ValueError, match="Jadlog account 'loja' lacks credentials: token"):
        JadlogClient(account, httpx.AsyncClient(), lambda: datetime.now(UTC), RecordingSleep())


def test_the_spec_describes_the_adapter() -> None:
    assert SPEC.name == "jadlog" and SPEC.credential_fields == ("token",) and SPEC.secret_fields == ("token",)
    assert SPEC.default_base_url == "https://www.jadlog.com.br" and SPEC.requests_per_second == 5.0
    assert not SPEC.pushes
    tracker = SPEC.make_tracker(ACCOUNT, httpx.AsyncClient(), lambda: datetime.now(UTC), RecordingSleep())
    assert isinstance(tracker, JadlogClient) and tracker.batch_limit == 50
