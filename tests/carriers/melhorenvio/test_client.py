"""The Melhor Envio HTTP shell against respx: headers, token refresh, batching, not-found answers, faults."""

import json
from collections.abc import Iterator
from urllib.parse import parse_qs

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
from carriers.melhorenvio import BATCH_LIMIT, MelhorEnvioClient
from tests.support import RecordingSleep
from tracker.clock import SimulatedClock

BASE = "https://me.test"
TRACK = "/api/v2/me/shipment/tracking"
TOKEN = "/oauth/token"
ID = "76343a9b-efd6-44dc-9584-59b0d0a48a26"
OTHER = "164ad792-1c6e-4e6b-9f0d-2b7c1a0e9f11"
BASIC = {"token": "tok-1", "contact_email": "ops@loja.test"}
REFRESH = {"client_id": "42", "client_secret": "s3cret", "refresh_token": "ref-1"}


def account(**credentials: str) -> AccountConfig:
    return AccountConfig(id=1, carrier="melhorenvio", name="loja", base_url=BASE, credentials=BASIC | credentials)


def answer(*ids: str, status: str = "posted") -> dict[str, object]:
    return {i: {"id": i, "status": status, "posted_at": "2026-11-02 10:00:00"} for i in ids}


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        yield router


def client(
    clock: SimulatedClock, sleep: RecordingSleep, http: httpx.AsyncClient | None = None, **creds: str
) -> MelhorEnvioClient:
    return MelhorEnvioClient(account(**creds), http or httpx.AsyncClient(), clock.now, sleep)


async def test_a_call_sends_bearer_user_agent_and_lower_case_ids(
    mock: respx.MockRouter, clock: SimulatedClock, sleep: RecordingSleep
) -> None:
    route = mock.post(TRACK).respond(200, json=answer(ID))
    (result,) = await client(clock, sleep).track([ID.upper()])
    request = route.calls[0].request
    assert request.headers["Authorization"] == "Bearer tok-1"
    assert request.headers["User-Agent"] == "Zelo (ops@loja.test)"
    assert request.headers["Accept"] == "application/json"
    assert json.loads(request.content) == {"orders": [ID]}
    assert result.tracking_code == ID.upper() and result.status is Status.POSTED


async def test_the_app_name_is_taken_from_the_account(
    mock: respx.MockRouter, clock: SimulatedClock, sleep: RecordingSleep
) -> None:
    route = mock.post(TRACK).respond(200, json=answer(ID))
    await client(clock, sleep, app_name="Loja Exemplo").track([ID])
    assert route.calls[0].request.headers["User-Agent"] == "Loja Exemplo (ops@loja.test)"


async def test_a_401_renews_the_token_once_and_the_new_one_is_kept(
    mock: respx.MockRouter, clock: SimulatedClock, sleep: RecordingSleep
) -> None:
    token = mock.post(TOKEN).respond(200, json={"access_token": "tok-2", "refresh_token": "ref-2", "expires_in": 60})
    track = mock.post(TRACK).mock(
        side_effect=lambda request: (
            httpx.Response(200, json=answer(ID))
            if request.headers["Authorization"] == "Bearer tok-2"
            else httpx.Response(401, json={"message": "Unauthenticated."})
        )
    )
    http = httpx.AsyncClient()
    await client(clock, sleep, http, **REFRESH).track([ID])
    form = parse_qs(token.calls[0].request.content.decode())
    assert form == {
        "grant_type": ["refresh_token"],
        "client_id": ["42"],
        "client_secret": ["s3cret"],
        "refresh_token": ["ref-1"],
    }
    assert token.calls[0].request.headers["User-Agent"] == "Zelo (ops@loja.test)"
    assert [c.request.headers["Authorization"] for c in track.calls] == ["Bearer tok-1", "Bearer tok-2"]
    # a tracker built again on the same HTTP client uses the renewed token straight away
    await client(clock, sleep, http, **REFRESH).track([ID])
    assert track.calls[-1].request.headers["Authorization"] == "Bearer tok-2"
    assert token.call_count == 1
    # another HTTP client keeps its own slot
    await client(clock, sleep, httpx.AsyncClient(), **REFRESH).track([ID])
    assert token.call_count == 2


async def test_the_rotated_refresh_token_is_used_for_the_next_renewal(
    mock: respx.MockRouter, clock: SimulatedClock, sleep: RecordingSleep
) -> None:
    token = mock.post(TOKEN).mock(
        side_effect=[
            httpx.Response(200, json={"access_token": "tok-2", "refresh_token": "ref-2"}),
            httpx.Response(200, json={"access_token": "tok-3", "refresh_token": "ref-3"}),
        ]
    )
    mock.post(TRACK).mock(
        side_effect=[
            httpx.Response(401),
            httpx.Response(200, json=answer(ID)),
            httpx.Response(401),
            httpx.Response(200, json=answer(ID)),
        ]
    )
    tracker = client(clock, sleep, **REFRESH)
    await tracker.track([ID])
    await tracker.track([ID])
    assert [parse_qs(c.request.content.decode())["refresh_token"] for c in token.calls] == [["ref-1"], ["ref-2"]]


@pytest.mark.parametrize("status", [400, 401])
async def test_a_refused_refresh_is_auth_failed(
    mock: respx.MockRouter, clock: SimulatedClock, sleep: RecordingSleep, status: int
) -> None:
    mock.post(TOKEN).respond(status, json={"error": "invalid_grant", "message": "The refresh token is invalid."})
    mock.post(TRACK).respond(401)
    with pytest.raises(AuthFailed, match=rf"refresh token of account 'loja' was refused \(HTTP {status}\)"):
        await client(clock, sleep, **REFRESH).track([ID])


@pytest.mark.parametrize("missing", ["client_id", "client_secret", "refresh_token"])
async def test_a_401_without_refresh_credentials_is_auth_failed(
    mock: respx.MockRouter, clock: SimulatedClock, sleep: RecordingSleep, missing: str
) -> None:
    token = mock.post(TOKEN).respond(200, json={"access_token": "x"})
    mock.post(TRACK).respond(401)
    creds = {k: v for k, v in REFRESH.items() if k != missing}
    with pytest.raises(AuthFailed, match="refused the access token \\(HTTP 401\\) and account 'loja' has no"):
        await client(clock, sleep, **creds).track([ID])
    assert token.call_count == 0


async def test_a_renewed_token_refused_again_is_auth_failed(
    mock: respx.MockRouter, clock: SimulatedClock, sleep: RecordingSleep
) -> None:
    mock.post(TOKEN).respond(200, json={"access_token": "tok-2"})
    track = mock.post(TRACK).respond(401)
    with pytest.raises(AuthFailed, match="refused a renewed access token"):
        await client(clock, sleep, **REFRESH).track([ID])
    assert track.call_count == 2


async def test_a_token_answer_without_access_token_is_a_contract_error(
    mock: respx.MockRouter, clock: SimulatedClock, sleep: RecordingSleep
) -> None:
    mock.post(TOKEN).respond(200, json={"token_type": "Bearer"})
    mock.post(TRACK).respond(401)
    with pytest.raises(ContractError, match="token answer lacks 'access_token': keys \\['token_type'\\]"):
        await client(clock, sleep, **REFRESH).track([ID])


async def test_403_is_auth_failed_without_a_refresh(
    mock: respx.MockRouter, clock: SimulatedClock, sleep: RecordingSleep
) -> None:
    token = mock.post(TOKEN).respond(200, json={"access_token": "x"})
    mock.post(TRACK).respond(403, json={"message": "This action is unauthorized."})
    with pytest.raises(AuthFailed, match="lacks the permission"):
        await client(clock, sleep, **REFRESH).track([ID])
    assert token.call_count == 0


async def test_batches_up_to_the_limit_and_no_more(
    mock: respx.MockRouter, clock: SimulatedClock, sleep: RecordingSleep
) -> None:
    ids = [f"{n:08x}-0000-4000-8000-000000000000" for n in range(BATCH_LIMIT)]
    route = mock.post(TRACK).respond(200, json=answer(*ids))
    results = await client(clock, sleep).track(ids)
    assert len(results) == BATCH_LIMIT and route.call_count == 1
    assert len(json.loads(route.calls[0].request.content)["orders"]) == BATCH_LIMIT
    with pytest.raises(ValueError, match=f"track\\(\\) takes 1 to {BATCH_LIMIT} codes, got {BATCH_LIMIT + 1}"):
        await client(clock, sleep).track([*ids, OTHER])
    with pytest.raises(ValueError, match="got 0"):
        await client(clock, sleep).track([])


async def test_codes_that_are_not_order_ids_are_answered_invalid_without_a_call(
    mock: respx.MockRouter, clock: SimulatedClock, sleep: RecordingSleep
) -> None:
    route = mock.post(TRACK).respond(200, json=answer(ID))
    results = {r.tracking_code: r for r in await client(clock, sleep).track(["SS123456785BR", ID])}
    bad = results["SS123456785BR"].error
    assert bad is not None and bad.code == "invalid_code" and bad.final
    assert "expected the Melhor Envio order id, a UUID" in bad.message
    assert json.loads(route.calls[0].request.content) == {"orders": [ID]}
    route.reset()
    (only,) = await client(clock, sleep).track(["nope"])
    assert only.error is not None and route.call_count == 0


async def test_an_id_missing_from_the_answer_is_not_found_data(
    mock: respx.MockRouter, clock: SimulatedClock, sleep: RecordingSleep
) -> None:
    mock.post(TRACK).respond(200, json=answer(ID))
    results = {r.tracking_code: r for r in await client(clock, sleep).track([ID, OTHER])}
    missing = results[OTHER.upper()].error
    assert missing is not None and missing.code == "not_found" and not missing.final
    assert missing.message == f"Melhor Envio has no order {OTHER} for this account"
    assert results[ID.upper()].error is None


async def test_a_422_naming_orders_makes_them_not_found_and_asks_again_for_the_rest(
    mock: respx.MockRouter, clock: SimulatedClock, sleep: RecordingSleep
) -> None:
    invalid = {"message": "The given data was invalid.", "errors": {"orders.0": ["O campo orders.0 é inválido."]}}
    route = mock.post(TRACK).mock(side_effect=[httpx.Response(422, json=invalid), httpx.Response(200, json=answer(ID))])
    results = {r.tracking_code: r for r in await client(clock, sleep).track([OTHER, ID])}
    assert [json.loads(c.request.content)["orders"] for c in route.calls] == [[OTHER, ID], [ID]]
    assert results[OTHER.upper()].error is not None and results[OTHER.upper()].error.code == "not_found"
    assert results[ID.upper()].status is Status.POSTED


async def test_a_422_naming_every_order_needs_no_second_call(
    mock: respx.MockRouter, clock: SimulatedClock, sleep: RecordingSleep
) -> None:
    errors = {"orders.0": ["inválido"], "orders.1": ["inválido"]}
    route = mock.post(TRACK).respond(422, json={"message": "The given data was invalid.", "errors": errors})
    results = await client(clock, sleep).track([OTHER, ID])
    assert route.call_count == 1
    assert {r.error.code for r in results if r.error} == {"not_found"} and len(results) == 2


@pytest.mark.parametrize(
    "body", [{"message": "The given data was invalid.", "errors": {"orders": ["obrigatório"]}}, {"message": "x"}, []]
)
async def test_a_422_naming_no_order_is_a_contract_error(
    mock: respx.MockRouter, clock: SimulatedClock, sleep: RecordingSleep, body: object
) -> None:
    mock.post(TRACK).respond(422, json=body)
    with pytest.raises(ContractError, match="answered HTTP 422 naming no order"):
        await client(clock, sleep).track([ID])


async def test_429_waits_retry_after_then_succeeds(
    mock: respx.MockRouter, clock: SimulatedClock, sleep: RecordingSleep
) -> None:
    mock.post(TRACK).mock(
        side_effect=[httpx.Response(429, headers={"Retry-After": "3"}), httpx.Response(200, json=answer(ID))]
    )
    (result,) = await client(clock, sleep).track([ID])
    assert result.status is Status.POSTED and sleep.waits == [3.0]


async def test_a_long_retry_after_is_raised_for_the_poller(
    mock: respx.MockRouter, clock: SimulatedClock, sleep: RecordingSleep
) -> None:
    mock.post(TRACK).respond(429, headers={"Retry-After": "120"})
    with pytest.raises(RateLimited) as caught:
        await client(clock, sleep).track([ID])
    assert caught.value.retry_after == 120.0 and sleep.waits == []


async def test_5xx_is_retried_then_carrier_unavailable(
    mock: respx.MockRouter, clock: SimulatedClock, sleep: RecordingSleep
) -> None:
    route = mock.post(TRACK).respond(503, text="<html>manutenção</html>")
    with pytest.raises(CarrierUnavailable, match="answered HTTP 503"):
        await client(clock, sleep).track([ID])
    assert route.call_count == 4 and len(sleep.waits) == 3


async def test_a_5xx_then_an_answer_succeeds(
    mock: respx.MockRouter, clock: SimulatedClock, sleep: RecordingSleep
) -> None:
    mock.post(TRACK).mock(side_effect=[httpx.Response(502), httpx.Response(200, json=answer(ID))])
    (result,) = await client(clock, sleep).track([ID])
    assert result.error is None and len(sleep.waits) == 1


async def test_timeouts_are_retried_then_carrier_unavailable(
    mock: respx.MockRouter, clock: SimulatedClock, sleep: RecordingSleep
) -> None:
    route = mock.post(TRACK).mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(CarrierUnavailable, match=f"POST {TRACK} timed out"):
        await client(clock, sleep).track([ID])
    assert route.call_count == 4


async def test_malformed_json_is_retried_then_malformed_response(
    mock: respx.MockRouter, clock: SimulatedClock, sleep: RecordingSleep
) -> None:
    route = mock.post(TRACK).respond(200, text='{"76343a9b": {"status": "pos')
    with pytest.raises(MalformedResponse, match="body that is not JSON"):
        await client(clock, sleep).track([ID])
    assert route.call_count == 4


async def test_a_body_of_the_wrong_shape_is_a_contract_error(
    mock: respx.MockRouter, clock: SimulatedClock, sleep: RecordingSleep
) -> None:
    mock.post(TRACK).respond(200, json=[{"id": ID}])
    with pytest.raises(ContractError, match="expected a JSON object keyed by Melhor Envio order id, got list"):
        await client(clock, sleep).track([ID])


async def test_other_4xx_is_a_contract_error(
    mock: respx.MockRouter, clock: SimulatedClock, sleep: RecordingSleep
) -> None:
    mock.post(TRACK).respond(404, json={"message": "Not Found"})
    with pytest.raises(ContractError, match="answered HTTP 404"):
        await client(clock, sleep).track([ID])


@pytest.mark.parametrize("missing", ["token", "contact_email"])
def test_an_account_without_required_credentials_is_refused(
    clock: SimulatedClock, sleep: RecordingSleep, missing: str
) -> None:
    creds = {k: v for k, v in BASIC.items() if k != missing}
    config = AccountConfig(id=1, carrier="melhorenvio", name="loja", base_url=BASE, credentials=creds)
    with pytest.raises(ValueError, match=f"Melhor Envio account 'loja' lacks credentials: {missing}"):
        MelhorEnvioClient(config, httpx.AsyncClient(), clock.now, sleep)
