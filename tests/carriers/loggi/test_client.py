"""The Loggi HTTP shell against respx: token fetch and cache, refresh, faults and retries."""

import asyncio
import base64
import json
import re
from datetime import timedelta
from typing import Any

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
from carriers.loggi.client import LoggiClient
from carriers.loggi.parse import NOT_FOUND
from tests.carriers.loggi.samples import CODE, journey, package
from tests.support import RecordingSleep
from tracker.clock import SimulatedClock

BASE = "https://loggi.test"
CREDENTIALS = {"client_id": "cid", "client_secret": "s3cr3t", "company_id": "777"}
ACCOUNT = AccountConfig(id=1, carrier="loggi", name="loja", base_url=BASE, credentials=CREDENTIALS)
TOKEN = "/v2/oauth2/token"
TRACK = f"/v1/companies/777/packages/{CODE}/tracking"
ANSWER = {"packages": [package(journey())]}


def jwt(exp: float) -> str:
    claims = base64.urlsafe_b64encode(json.dumps({"exp": exp}).encode()).decode().rstrip("=")
    return f"eyJhbGciOiJub25lIn0.{claims}.sig"


@pytest.fixture
def mock() -> Any:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        yield router


@pytest.fixture
def http() -> httpx.AsyncClient:
    return httpx.AsyncClient()


@pytest.fixture
def client(http: httpx.AsyncClient, clock: SimulatedClock, sleep: RecordingSleep) -> LoggiClient:
    return LoggiClient(ACCOUNT, http, clock.now, sleep)


async def test_token_is_fetched_with_the_client_credentials_and_reused(mock: Any, client: LoggiClient) -> None:
    token = mock.post(TOKEN).respond(200, json={"idToken": "tok-1"})
    track = mock.get(TRACK).respond(200, json=ANSWER)
    (first,) = await client.track([CODE])
    await client.track([CODE])
    assert token.call_count == 1
    assert json.loads(token.calls[0].request.read()) == {"client_id": "cid", "client_secret": "s3cr3t"}
    assert track.call_count == 2 and track.calls[0].request.headers["Authorization"] == "Bearer tok-1"
    assert (first.tracking_code, first.status) == (CODE, Status.DELIVERED)
    assert [e.code for e in first.events][-1] == "LOGGI-5"


async def test_trackers_on_one_http_client_share_the_token_and_other_accounts_do_not(
    mock: Any, http: httpx.AsyncClient, clock: SimulatedClock, sleep: RecordingSleep
) -> None:
    token = mock.post(TOKEN).respond(200, json={"idToken": "tok"})
    mock.get(url__regex=r"/v1/companies/\d+/packages/.+/tracking").respond(200, json=ANSWER)
    await LoggiClient(ACCOUNT, http, clock.now, sleep).track([CODE])
    await LoggiClient(ACCOUNT, http, clock.now, sleep).track([CODE])
    assert token.call_count == 1
    other = AccountConfig(2, "loggi", "outra", BASE, {**CREDENTIALS, "client_id": "other"})
    await LoggiClient(other, http, clock.now, sleep).track([CODE])
    await LoggiClient(ACCOUNT, httpx.AsyncClient(), clock.now, sleep).track([CODE])
    assert token.call_count == 3


@pytest.mark.parametrize(
    ("answer", "lifetime"),
    [
        ({"expiresIn": 3600}, timedelta(hours=1)),
        ({"expires_in": "600"}, timedelta(minutes=10)),
        ({}, timedelta(hours=1)),  # nothing said: taken as one hour
    ],
)
async def test_token_refreshed_before_its_expiry(
    mock: Any, client: LoggiClient, clock: SimulatedClock, answer: dict[str, Any], lifetime: timedelta
) -> None:
    token = mock.post(TOKEN).mock(
        side_effect=[httpx.Response(200, json={"idToken": "a", **answer}), httpx.Response(200, json={"idToken": "b"})]
    )
    track = mock.get(TRACK).respond(200, json=ANSWER)
    await client.track([CODE])
    margin = min(timedelta(minutes=5), lifetime / 2)
    clock.advance(lifetime - margin - timedelta(seconds=1))
    await client.track([CODE])
    assert token.call_count == 1
    clock.advance(timedelta(seconds=2))
    await client.track([CODE])
    assert token.call_count == 2 and track.calls[-1].request.headers["Authorization"] == "Bearer b"


async def test_token_lifetime_read_from_the_jwt_exp_claim(
    mock: Any, client: LoggiClient, clock: SimulatedClock
) -> None:
    exp = (clock.now() + timedelta(hours=2)).timestamp()
    token = mock.post(TOKEN).respond(200, json={"idToken": jwt(exp)})
    mock.get(TRACK).respond(200, json=ANSWER)
    await client.track([CODE])
    clock.advance(timedelta(hours=1, minutes=54))
    await client.track([CODE])
    assert token.call_count == 1
    clock.advance(timedelta(minutes=2))  # within 5 minutes of exp
    await client.track([CODE])
    assert token.call_count == 2


async def test_401_on_tracking_gets_one_fresh_token(mock: Any, client: LoggiClient) -> None:
    token = mock.post(TOKEN).mock(
        side_effect=[httpx.Response(200, json={"idToken": "old"}), httpx.Response(200, json={"idToken": "new"})]
    )
    track = mock.get(TRACK).mock(side_effect=[httpx.Response(401), httpx.Response(200, json=ANSWER)])
    (result,) = await client.track([CODE])
    assert result.status is Status.DELIVERED
    assert token.call_count == 2
    assert [c.request.headers["Authorization"] for c in track.calls] == ["Bearer old", "Bearer new"]


@pytest.mark.parametrize("refusal", [401, 403])
async def test_a_fresh_token_refused_too_is_one_auth_failed(mock: Any, client: LoggiClient, refusal: int) -> None:
    token = mock.post(TOKEN).respond(200, json={"idToken": "t"})
    track = mock.get(TRACK).respond(refusal)
    with pytest.raises(AuthFailed, match=f"refused with a fresh token \\(HTTP {refusal}\\)"):
        await client.track([CODE])
    assert token.call_count == 2 and track.call_count == 2


async def test_refused_credentials_raise_auth_failed_naming_the_account_not_the_secret(
    mock: Any, client: LoggiClient
) -> None:
    token = mock.post(TOKEN).respond(401, json={"message": "invalid client_secret s3cr3t"})
    track = mock.get(TRACK).respond(200, json=ANSWER)
    with pytest.raises(AuthFailed) as info:
        await client.track([CODE])
    assert "token refused for account 'loja' (HTTP 401)" in str(info.value) and "s3cr3t" not in str(info.value)
    assert token.call_count == 1 and track.call_count == 0


async def test_a_token_error_body_is_withheld_and_the_token_must_be_there(mock: Any, client: LoggiClient) -> None:
    mock.post(TOKEN).respond(400, json={"echo": "s3cr3t"})
    with pytest.raises(ContractError) as info:
        await client.track([CODE])
    assert "HTTP 400" in str(info.value) and "s3cr3t" not in str(info.value)
    mock.post(TOKEN).respond(200, json={"accessToken": "x"})
    with pytest.raises(ContractError, match=r"token answer lacks 'idToken': keys \['accessToken'\]"):
        await client.track([CODE])


async def test_404_is_loggi_s_not_found_answer_as_data(mock: Any, client: LoggiClient) -> None:
    mock.post(TOKEN).respond(200, json={"idToken": "t"})
    mock.get(TRACK).respond(404, json={"message": "Pacote não encontrado."})
    (result,) = await client.track([CODE])
    assert result.error is not None and (result.error.code, result.error.final) == (NOT_FOUND, False)
    assert result.error.message == f"Loggi has no package {CODE}: Pacote não encontrado."
    mock.get(TRACK).respond(404, text="<html>Not Found</html>")
    (plain,) = await client.track([CODE])
    assert plain.error is not None and plain.error.message == f"Loggi has no package {CODE}"


async def test_429_honours_retry_after_then_succeeds(mock: Any, client: LoggiClient, sleep: RecordingSleep) -> None:
    mock.post(TOKEN).respond(200, json={"idToken": "t"})
    mock.get(TRACK).mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "3"}),
            httpx.Response(429),
            httpx.Response(200, json=ANSWER),
        ]
    )
    (result,) = await client.track([CODE])
    assert result.status is Status.DELIVERED
    assert sleep.waits[0] == 3.0 and 0 <= sleep.waits[1] <= 1.0


async def test_retry_after_too_long_is_raised_not_slept(mock: Any, client: LoggiClient, sleep: RecordingSleep) -> None:
    mock.post(TOKEN).respond(200, json={"idToken": "t"})
    mock.get(TRACK).respond(429, headers={"Retry-After": "600"})
    with pytest.raises(RateLimited) as info:
        await client.track([CODE])
    assert info.value.retry_after == 600 and sleep.waits == []


@pytest.mark.parametrize(
    ("fault", "error", "message"),
    [
        (httpx.Response(503, text="indisponível"), CarrierUnavailable, "answered HTTP 503"),
        (httpx.Response(502), CarrierUnavailable, "answered HTTP 502"),
        (httpx.ReadTimeout("slow"), CarrierUnavailable, "timed out (ReadTimeout)"),
        (httpx.ConnectError("refused"), CarrierUnavailable, "failed: ConnectError"),
        (httpx.Response(200, text='{"packages": [{"trackingCo'), MalformedResponse, "a body that is not JSON"),
    ],
)
async def test_transient_faults_are_retried_with_backoff_then_raised(
    mock: Any, client: LoggiClient, sleep: RecordingSleep, fault: Any, error: type[Exception], message: str
) -> None:
    mock.post(TOKEN).respond(200, json={"idToken": "t"})
    track = mock.get(TRACK).mock(side_effect=fault)
    with pytest.raises(error, match=re.escape(message)):
        await client.track([CODE])
    assert track.call_count == 4 and len(sleep.waits) == 3


async def test_a_transient_fault_then_success(mock: Any, client: LoggiClient) -> None:
    mock.post(TOKEN).respond(200, json={"idToken": "t"})
    mock.get(TRACK).mock(side_effect=[httpx.ReadTimeout("slow"), httpx.Response(200, json=ANSWER)])
    (result,) = await client.track([CODE])
    assert result.status is Status.DELIVERED


async def test_the_token_call_is_retried_on_transient_faults(mock: Any, client: LoggiClient) -> None:
    token = mock.post(TOKEN).mock(side_effect=[httpx.Response(503), httpx.Response(200, json={"idToken": "t"})])
    mock.get(TRACK).respond(200, json=ANSWER)
    (result,) = await client.track([CODE])
    assert result.status is Status.DELIVERED and token.call_count == 2


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ({"pacotes": []}, "expected a JSON object with a 'packages' list"),
        ([1, 2], "expected a JSON object with a 'packages' list, got list"),
        ({"packages": ["x"]}, "packages[0] is a str, expected a package object"),
    ],
)
async def test_a_wrong_shape_is_a_contract_error_not_retried(
    mock: Any, client: LoggiClient, answer: Any, message: str
) -> None:
    mock.post(TOKEN).respond(200, json={"idToken": "t"})
    track = mock.get(TRACK).respond(200, json=answer)
    with pytest.raises(ContractError, match=re.escape(message)):
        await client.track([CODE])
    assert track.call_count == 1


async def test_other_4xx_are_contract_errors(mock: Any, client: LoggiClient) -> None:
    mock.post(TOKEN).respond(200, json={"idToken": "t"})
    mock.get(TRACK).respond(400, json={"message": "companyId inválido"})
    with pytest.raises(ContractError, match="answered HTTP 400"):
        await client.track([CODE])


async def test_one_code_per_call_in_the_path(mock: Any, client: LoggiClient) -> None:
    assert client.batch_limit == 1
    mock.post(TOKEN).respond(200, json={"idToken": "t"})
    track = mock.get(url__regex=r"/v1/companies/777/packages/[^/]+/tracking").respond(200, json={"packages": []})
    (result,) = await client.track(["KIF511LG3LGGA3U8G28B4200NA"])
    assert track.calls[0].request.url.path == "/v1/companies/777/packages/KIF511LG3LGGA3U8G28B4200NA/tracking"
    assert result.tracking_code == "KIF511LG3LGGA3U8G28B4200NA" and result.error is not None
    with pytest.raises(ValueError, match="takes 1 to 1 codes, got 2"):
        await client.track([CODE, CODE])
    with pytest.raises(ValueError, match="got 0"):
        await client.track([])


def test_missing_credentials_are_named(clock: SimulatedClock, sleep: RecordingSleep) -> None:
    account = AccountConfig(1, "loggi", "loja", BASE, {"client_id": "cid"})
    with pytest.raises(ValueError, match="'loja' lacks credentials: client_secret, company_id"):
        LoggiClient(account, httpx.AsyncClient(), clock.now, sleep)


async def test_concurrent_refusals_of_one_token_fetch_one_fresh_token(
    mock: Any, http: httpx.AsyncClient, clock: SimulatedClock, sleep: RecordingSleep
) -> None:
    token = mock.post(TOKEN).mock(
        side_effect=[httpx.Response(200, json={"idToken": "old"}), httpx.Response(200, json={"idToken": "new"})]
    )
    both_sent = asyncio.Event()
    sent: list[str] = []

    async def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request.headers["Authorization"])
        if len(sent) == 2:
            both_sent.set()
        await asyncio.wait_for(both_sent.wait(), 5)  # both calls hold "old" before either is refused
        return httpx.Response(401 if request.headers["Authorization"] == "Bearer old" else 200, json=ANSWER)

    mock.get(TRACK).mock(side_effect=answer)
    one, two = LoggiClient(ACCOUNT, http, clock.now, sleep), LoggiClient(ACCOUNT, http, clock.now, sleep)
    results = await asyncio.gather(one.track([CODE]), two.track([CODE]))
    assert [r[0].status for r in results] == [Status.DELIVERED, Status.DELIVERED]
    assert sent == ["Bearer old", "Bearer old", "Bearer new", "Bearer new"]
    assert token.call_count == 2  # "old", then one fresh "new" for both refusals
