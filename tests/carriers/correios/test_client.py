"""The Correios HTTP shell against respx: token cache, batching, faults and retries."""

from datetime import UTC, datetime, timedelta

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
)
from carriers.correios.client import CorreiosClient
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
OK_BODY = {"objetos": [{"codObjeto": "SS000000017BR", "mensagem": "SRO-020: Objeto não encontrado"}]}


def token_body(expires: str = "2026-11-03T08:00:00", token: str = "tok-1") -> dict[str, object]:
    return {"token": token, "expiraEm": expires, "emissao": "2026-11-02T08:00:00", "ambiente": "PRODUCAO"}


@pytest.fixture
def mock() -> respx.MockRouter:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        yield router


@pytest.fixture
async def client(clock: SimulatedClock, sleep: RecordingSleep) -> CorreiosClient:
    return CorreiosClient(ACCOUNT, httpx.AsyncClient(), clock.now, sleep)


async def test_token_is_fetched_with_basic_auth_and_reused(mock: respx.MockRouter, client: CorreiosClient) -> None:
    token = mock.post("/token/v1/autentica/cartaopostagem").respond(201, json=token_body())
    track = mock.get("/srorastro/v1/objetos").respond(200, json=OK_BODY)
    await client.track(["SS000000017BR"])
    await client.track(["SS000000017BR"])
    assert token.call_count == 1
    request = token.calls[0].request
    assert request.headers["Authorization"] == "Basic MTIzNDU2NzgwMDAxOTk6YWJj"
    assert request.read() == b'{"numero":"0067599079"}'
    assert track.calls[0].request.headers["Authorization"] == "Bearer tok-1"
    assert track.calls[0].request.url.params["codigosObjetos"] == "SS000000017BR"


async def test_token_refreshed_before_expiry(
    mock: respx.MockRouter, client: CorreiosClient, clock: SimulatedClock
) -> None:
    # clock: 2026-11-02 08:00 BRT; token valid 24 h → refreshed 4 h before expiry
    token = mock.post("/token/v1/autentica/cartaopostagem").mock(
        side_effect=[
            httpx.Response(201, json=token_body(token="a")),
            httpx.Response(201, json=token_body("2026-11-04T08:00:00", "b")),
        ]
    )
    track = mock.get("/srorastro/v1/objetos").respond(200, json=OK_BODY)
    await client.track(["SS000000017BR"])
    clock.advance(timedelta(hours=19, minutes=59))
    await client.track(["SS000000017BR"])
    assert token.call_count == 1
    clock.advance(timedelta(minutes=2))
    await client.track(["SS000000017BR"])
    assert token.call_count == 2
    assert track.calls[-1].request.headers["Authorization"] == "Bearer b"


async def test_401_on_tracking_gets_one_fresh_token(mock: respx.MockRouter, client: CorreiosClient) -> None:
    mock.post("/token/v1/autentica/cartaopostagem").mock(
        side_effect=[
            httpx.Response(201, json=token_body(token="old")),
            httpx.Response(201, json=token_body(token="new")),
        ]
    )
    track = mock.get("/srorastro/v1/objetos").mock(side_effect=[httpx.Response(401), httpx.Response(200, json=OK_BODY)])
    [result] = await client.track(["SS000000017BR"])
    assert result.error is not None and result.error.code == "SRO-020"
    assert [c.request.headers["Authorization"] for c in track.calls] == ["Bearer old", "Bearer new"]


async def test_refused_credentials_raise_auth_failed_naming_the_account(
    mock: respx.MockRouter, client: CorreiosClient
) -> None:
    mock.post("/token/v1/autentica/cartaopostagem").respond(401, json={"msgs": ["Credenciais inválidas"]})
    with pytest.raises(AuthFailed, match=r"'loja'.*access code"):
        await client.track(["SS000000017BR"])


async def test_429_honours_retry_after_then_succeeds(
    mock: respx.MockRouter, client: CorreiosClient, sleep: RecordingSleep
) -> None:
    mock.post("/token/v1/autentica/cartaopostagem").respond(201, json=token_body())
    track = mock.get("/srorastro/v1/objetos").mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "3"}),
            httpx.Response(429),
            httpx.Response(200, json=OK_BODY),
        ]
    )
    await client.track(["SS000000017BR"])
    assert track.call_count == 3
    assert sleep.waits[0] == 3.0
    assert 0 <= sleep.waits[1] <= 1.0  # no header: jittered backoff, second attempt (base 0.5 s × 2)


async def test_retry_after_too_long_is_raised_not_slept(
    mock: respx.MockRouter, client: CorreiosClient, sleep: RecordingSleep
) -> None:
    mock.post("/token/v1/autentica/cartaopostagem").respond(201, json=token_body())
    mock.get("/srorastro/v1/objetos").respond(429, headers={"Retry-After": "600"})
    with pytest.raises(RateLimited) as info:
        await client.track(["SS000000017BR"])
    assert info.value.retry_after == 600 and sleep.waits == []


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (httpx.Response(503, text="Service Unavailable"), CarrierUnavailable),
        (httpx.ReadTimeout("slow"), CarrierUnavailable),
        (httpx.ConnectError("refused"), CarrierUnavailable),
        (httpx.Response(200, content=b'{"objetos": ['), MalformedResponse),
        (httpx.Response(200, content=b"<html>maintenance</html>"), MalformedResponse),
    ],
)
async def test_transient_faults_are_retried_with_backoff_then_raised(
    mock: respx.MockRouter,
    client: CorreiosClient,
    sleep: RecordingSleep,
    fault: httpx.Response | Exception,
    error: type[Exception],
) -> None:
    mock.post("/token/v1/autentica/cartaopostagem").respond(201, json=token_body())
    track = mock.get("/srorastro/v1/objetos").mock(side_effect=[fault] * 4)
    with pytest.raises(error):
        await client.track(["SS000000017BR"])
    assert track.call_count == 4
    assert len(sleep.waits) == 3 and all(0 <= w <= 8 for w in sleep.waits)


async def test_transient_fault_then_success(mock: respx.MockRouter, client: CorreiosClient) -> None:
    mock.post("/token/v1/autentica/cartaopostagem").respond(201, json=token_body())
    mock.get("/srorastro/v1/objetos").mock(side_effect=[httpx.ReadTimeout("slow"), httpx.Response(200, json=OK_BODY)])
    [result] = await client.track(["SS000000017BR"])
    assert result.tracking_code == "SS000000017BR"


async def test_wrong_shape_is_a_contract_error_not_retried(mock: respx.MockRouter, client: CorreiosClient) -> None:
    mock.post("/token/v1/autentica/cartaopostagem").respond(201, json=token_body())
    track = mock.get("/srorastro/v1/objetos").respond(200, json={"erro": "x"})
    with pytest.raises(ContractError, match="objetos"):
        await client.track(["SS000000017BR"])
    assert track.call_count == 1


async def test_batch_sends_comma_joined_codes_and_refuses_more_than_50(
    mock: respx.MockRouter, client: CorreiosClient
) -> None:
    mock.post("/token/v1/autentica/cartaopostagem").respond(201, json=token_body())
    track = mock.get("/srorastro/v1/objetos").respond(200, json={"objetos": []})
    codes = [f"SS{n:09d}BR" for n in range(50)]
    await client.track(codes)
    assert track.calls[0].request.url.params["codigosObjetos"].split(",") == codes
    with pytest.raises(ValueError, match="1 to 50 codes, got 51"):
        await client.track([*codes, "SS999999999BR"])


def test_missing_credentials_are_named() -> None:
    account = AccountConfig(1, "correios", "x", BASE, {"user": "u"})
    with pytest.raises(ValueError, match="access_code, posting_card"):
        CorreiosClient(account, httpx.AsyncClient(), lambda: datetime.now(UTC), RecordingSleep())


def test_retry_after_forms() -> None:
    from carriers.base.retry import parse_retry_after

    now = datetime(2015, 10, 21, 7, 27, tzinfo=UTC)
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 -0000", now) == 60.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now) == 60.0
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after("²") is None and parse_retry_after("soon") is None and parse_retry_after(None) is None
