"""The Total Express HTTP shell against respx: Basic auth, the request body, batches of 50, faults and retries."""

import base64
import json
from datetime import UTC, datetime

import httpx
import pytest
import respx

from carriers.base import AccountConfig, AuthFailed, CarrierUnavailable, ContractError, MalformedResponse, RateLimited
from carriers.totalexpress import PRODUCTION_URL, SPEC, TotalExpressClient
from tests.support import RecordingSleep
from tracker.clock import SimulatedClock

BASE = "https://te.test"
PATH = "/ics-tracking-encomenda-lv/v1/tracking"
ACCOUNT = AccountConfig(1, "totalexpress", "loja", BASE + "/", {"user": "loja-api", "password": "s3cr3t!"})
AWB = "TE0000000001"
OK_BODY = [{"AWB": AWB, "Historico": [{"CodStatus": 1, "DataStatus": "2025-03-03 10:00:00"}]}]


@pytest.fixture
def mock() -> respx.MockRouter:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        yield router


@pytest.fixture
async def client(clock: SimulatedClock, sleep: RecordingSleep) -> TotalExpressClient:
    return TotalExpressClient(ACCOUNT, httpx.AsyncClient(), clock.now, sleep)


async def test_posts_the_awbs_with_basic_auth_and_reads_the_answer(
    mock: respx.MockRouter, client: TotalExpressClient
) -> None:
    route = mock.post(PATH).respond(200, json=OK_BODY)
    [result] = await client.track([AWB])
    assert result.tracking_code == AWB and result.status.value == "delivered"
    request = route.calls.last.request
    assert request.headers["Authorization"] == "Basic " + base64.b64encode(b"loja-api:s3cr3t!").decode()
    assert json.loads(request.content) == {"awbs": [AWB], "comprovanteEntrega": True}
    assert request.url == BASE + PATH  # the account's trailing slash is not doubled


async def test_fifty_awbs_go_in_one_request_and_fifty_one_are_refused(
    mock: respx.MockRouter, client: TotalExpressClient
) -> None:
    route = mock.post(PATH).respond(200, json=[])
    codes = [f"TE{n:010d}" for n in range(50)]
    assert client.batch_limit == 50
    assert await client.track(codes) == []
    assert route.call_count == 1 and json.loads(route.calls.last.request.content)["awbs"] == codes
    with pytest.raises(ValueError, match="1 to 50 codes, got 51"):
        await client.track([*codes, "TE9999999999"])
    with pytest.raises(ValueError, match="1 to 50 codes, got 0"):
        await client.track([])
    assert route.call_count == 1


@pytest.mark.parametrize("status", [401, 403])
async def test_refused_credentials_are_auth_failed_at_once_without_the_password(
    mock: respx.MockRouter, client: TotalExpressClient, sleep: RecordingSleep, status: int
) -> None:
    route = mock.post(PATH).respond(status, json={"mensagem": "Usuário ou senha inválidos."})
    with pytest.raises(AuthFailed) as info:
        await client.track([AWB])
    message = str(info.value)
    assert f"HTTP {status}" in message and "'loja'" in message and "user and password" in message
    assert "s3cr3t" not in message
    assert route.call_count == 1 and sleep.waits == []


async def test_429_honours_retry_after_then_succeeds(
    mock: respx.MockRouter, client: TotalExpressClient, sleep: RecordingSleep
) -> None:
    route = mock.post(PATH).mock(
        side_effect=[httpx.Response(429, headers={"Retry-After": "2"}), httpx.Response(200, json=OK_BODY)]
    )
    [result] = await client.track([AWB])
    assert result.tracking_code == AWB and route.call_count == 2 and sleep.waits == [2.0]


async def test_a_long_retry_after_is_raised_not_slept(
    mock: respx.MockRouter, client: TotalExpressClient, sleep: RecordingSleep
) -> None:
    mock.post(PATH).respond(429, headers={"Retry-After": "120"})
    with pytest.raises(RateLimited) as info:
        await client.track([AWB])
    assert info.value.retry_after == 120 and sleep.waits == []


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (httpx.Response(500, text="erro interno: AWB TE0000000001 de FULANO"), CarrierUnavailable),
        (httpx.Response(503), CarrierUnavailable),
        (httpx.ReadTimeout("slow"), CarrierUnavailable),
        (httpx.ConnectTimeout("slow"), CarrierUnavailable),
        (httpx.ConnectError("refused"), CarrierUnavailable),
        (httpx.Response(200, content=b'[{"AWB": "TE0'), MalformedResponse),
        (httpx.Response(200, content=b"<html>manutencao FULANO</html>"), MalformedResponse),
    ],
)
async def test_transient_faults_are_retried_then_raised_without_the_body(
    mock: respx.MockRouter,
    client: TotalExpressClient,
    sleep: RecordingSleep,
    fault: httpx.Response | Exception,
    error: type[Exception],
) -> None:
    route = mock.post(PATH).mock(side_effect=[fault] * 4)
    with pytest.raises(error) as info:
        await client.track([AWB])
    assert route.call_count == 4 and len(sleep.waits) == 3
    assert "FULANO" not in str(info.value) and str(info.value).startswith("totalexpress: ")


async def test_a_transient_fault_then_success(mock: respx.MockRouter, client: TotalExpressClient) -> None:
    mock.post(PATH).mock(side_effect=[httpx.ReadTimeout("slow"), httpx.Response(200, json=OK_BODY)])
    [result] = await client.track([AWB])
    assert result.tracking_code == AWB


@pytest.mark.parametrize(
    ("answer", "says"),
    [
        (httpx.Response(200, json={"encomendas": []}), "expected a JSON list of AWB entries"),
        (httpx.Response(400, json={"mensagem": "awbs obrigatório; FULANO"}), "answered HTTP 400"),
    ],
)
async def test_a_wrong_answer_is_a_contract_error_not_retried(
    mock: respx.MockRouter, client: TotalExpressClient, answer: httpx.Response, says: str
) -> None:
    route = mock.post(PATH).mock(return_value=answer)
    with pytest.raises(ContractError) as info:
        await client.track([AWB])
    assert says in str(info.value) and "FULANO" not in str(info.value) and route.call_count == 1


@pytest.mark.parametrize(("credentials", "missing"), [({"user": "u"}, "password"), ({}, "user, password")])
def test_missing_credentials_are_named(credentials: dict[str, str], missing: str) -> None:
    account = AccountConfig(1, "totalexpress", "x", BASE, credentials)
    with pytest.raises(ValueError, match=f"'x' lacks credentials: {missing}$"):
        TotalExpressClient(account, httpx.AsyncClient(), lambda: datetime.now(UTC), RecordingSleep())


def test_the_spec() -> None:
    assert (SPEC.name, SPEC.title, SPEC.default_base_url) == ("totalexpress", "Total Express", PRODUCTION_URL)
    assert PRODUCTION_URL == "https://apis.totalexpress.com.br"
    assert SPEC.credential_fields == ("user", "password") and SPEC.secret_fields == ("password",)
    assert SPEC.requests_per_second == 1.0 and not SPEC.pushes and SPEC.make_tracker is TotalExpressClient
