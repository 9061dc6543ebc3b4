"""The sandbox's Melhor Envio voice: every built-in scenario polled through the real client, its checks
(bearer, User-Agent, gate, not-found), the token refresh, and the signed webhooks its Pusher sends."""

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import respx

from carriers.base import AccountConfig, AuthFailed, CarrierUnavailable, RateLimited, Status, TrackingResult
from carriers.melhorenvio import SPEC, MelhorEnvioClient
from carriers.melhorenvio.codes import table
from carriers.melhorenvio.ids import check_code
from carriers.sandbox import Parcel, SandboxClock, SandboxState, create_app, scenario_names
from carriers.sandbox.melhorenvio import BATCH_LIMIT, TRACK_PATH
from carriers.sandbox.melhorenvio_orders import FINAL_STATUS, UNKNOWN, said
from carriers.sandbox.pushes import Pusher
from carriers.sandbox.scenarios import load_scenarios
from carriers.sandbox.voices import speakers
from tests.support import RecordingSleep

T0 = datetime(2025, 3, 3, 12, 0, tzinfo=UTC)
BASE = "http://sandbox"
TARGET = "https://zelo.test/v1/webhooks/carriers/melhorenvio"
SECRET = "app-secret-123"
CREDS = {"token": "tok-static", "contact_email": "ops@loja.test"}
REFRESH = {"client_id": "42", "client_secret": "s3cret", "refresh_token": "ref-1"}
UA = {"User-Agent": "Zelo (ops@loja.test)"}


def order_id(n: int) -> str:
    return str(uuid.UUID(int=n, version=4)).upper()


def code_of(name: str) -> str:
    return "NOT-AN-ORDER-ID" if name == "invalid" else order_id(scenario_names().index(name) + 1)


def end_of(name: str) -> datetime:
    events = load_scenarios()[name].events
    return T0 + timedelta(hours=(events[-1].at_h if events else 0) + 2)


@pytest.fixture
def state() -> SandboxState:
    sandbox = SandboxState(SandboxClock(T0))
    sandbox.register(Parcel(code_of(name), name, T0, carrier="melhorenvio") for name in scenario_names())
    return sandbox


@pytest.fixture
async def http(state: SandboxState) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(state)), base_url=BASE) as client:
        yield client


def tracker(http: httpx.AsyncClient, sleep: RecordingSleep, **creds: str) -> MelhorEnvioClient:
    config = AccountConfig(id=1, carrier="melhorenvio", name="loja", base_url=BASE, credentials=CREDS | creds)
    return MelhorEnvioClient(config, http, datetime.now, sleep)


async def track_one(http: httpx.AsyncClient, sleep: RecordingSleep, code: str, **creds: str) -> TrackingResult:
    (result,) = await tracker(http, sleep, **creds).track([code])
    return result


def test_the_final_statuses_are_written_down_for_every_built_in_scenario() -> None:
    assert set(FINAL_STATUS) == set(scenario_names())


def test_every_scenario_event_is_sayable_in_melhor_envios_words() -> None:
    for scenario in load_scenarios().values():
        for event in scenario.events:
            word = said(event)
            if event.type == "EST":
                assert word is None
            elif (event.type, event.status) == ("BDE", "99"):  # unknown to Correios too: unknown here
                assert word == UNKNOWN and table().lookup(word) is None
            else:
                assert word is not None and table().lookup(word) is not None, event
    words = {said(e) for s in load_scenarios().values() for e in s.events}
    assert words == {"posted", "delivered", "undelivered", UNKNOWN, None}


@pytest.mark.parametrize("name", scenario_names())
async def test_every_built_in_scenario_ends_in_its_written_down_status(
    name: str, state: SandboxState, http: httpx.AsyncClient, sleep: RecordingSleep
) -> None:
    state.set_clock(end_of(name))
    result = await track_one(http, sleep, code_of(name))
    assert result.tracking_code == code_of(name)
    expected = FINAL_STATUS[name]
    if expected is None:
        assert result.error is not None and result.events == ()
        assert result.error.code == ("invalid_code" if name == "invalid" else "not_found")
        assert result.error.final is (name == "invalid")
    else:
        assert result.error is None and result.problems == ()
        assert result.status is expected
        assert [e.code for e in result.events][:3] == ["ME-created", "ME-released", "ME-generated"]


async def test_in_transit_events_all_show_posted(
    state: SandboxState, http: httpx.AsyncClient, sleep: RecordingSleep
) -> None:
    code = code_of("on_time")
    state.set_clock(T0 - timedelta(hours=4))
    before = await track_one(http, sleep, code)
    assert before.error is not None and before.error.code == "not_found"  # the order is not created yet
    state.set_clock(T0 - timedelta(minutes=30))
    assert (await track_one(http, sleep, code)).events[-1].code == "ME-generated"
    for hours in (3, 30, 74):  # posted, in transit, out for delivery
        state.set_clock(T0 + timedelta(hours=hours))
        result = await track_one(http, sleep, code)
        assert result.status is Status.POSTED and result.events[-1].code == "ME-posted"


async def test_a_batch_mixing_known_and_unknown_orders(
    state: SandboxState, http: httpx.AsyncClient, sleep: RecordingSleep
) -> None:
    state.set_clock(end_of("late"))
    codes = [code_of("not_found"), code_of("on_time"), order_id(999), code_of("refused")]
    results = {r.tracking_code: r for r in await tracker(http, sleep).track(codes)}
    assert results[code_of("on_time")].status is Status.DELIVERED
    assert results[code_of("refused")].status is Status.RETURNING
    assert {c for c, r in results.items() if r.error} == {code_of("not_found"), order_id(999)}
    assert state.counters.requests["melhorenvio.track"] == 2  # the 422, then the known ones again


async def test_the_unknown_order_answer_is_a_laravel_validation_error(http: httpx.AsyncClient) -> None:
    response = await http.post(
        TRACK_PATH, json={"orders": [order_id(998)]}, headers={"Authorization": "Bearer t", **UA}
    )
    assert response.status_code == 422
    assert response.json() == {
        "message": "The given data was invalid.",
        "errors": {"orders.0": ["O campo orders.0 selecionado é inválido."]},
    }


@pytest.mark.parametrize(
    ("body", "status"),
    [({}, 422), ({"orders": []}, 422), ({"orders": [1]}, 422), ({"orders": ["x"] * (BATCH_LIMIT + 1)}, 422)],
)
async def test_bad_bodies_are_validation_errors(http: httpx.AsyncClient, body: object, status: int) -> None:
    response = await http.post(TRACK_PATH, json=body, headers={"Authorization": "Bearer t", **UA})
    assert response.status_code == status and "orders" in response.json()["errors"]


@pytest.mark.parametrize("authorization", [None, "Bearer wrong", "Basic dTpw", "Bearer "])
async def test_the_bearer_token_is_checked_first(http: httpx.AsyncClient, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = await http.post(TRACK_PATH, json={"orders": [code_of("on_time")]}, headers=headers | UA)
    assert (response.status_code, response.json()) == (401, {"message": "Unauthenticated."})


async def test_a_missing_user_agent_is_400(http: httpx.AsyncClient) -> None:
    request = http.build_request("POST", TRACK_PATH, json={"orders": [code_of("on_time")]})
    request.headers["Authorization"] = "Bearer t"
    del request.headers["User-Agent"]
    response = await http.send(request)
    assert response.status_code == 400 and "User-Agent" in response.json()["message"]


async def test_a_user_agent_without_a_contact_email_is_400(http: httpx.AsyncClient) -> None:
    headers = {"Authorization": "Bearer t", "User-Agent": "python-httpx/0.28"}
    response = await http.post(TRACK_PATH, json={"orders": [code_of("on_time")]}, headers=headers)
    assert response.status_code == 400 and "e-mail de contato" in response.json()["message"]


async def test_a_wrong_token_is_renewed_through_the_refresh_route(
    state: SandboxState, http: httpx.AsyncClient, sleep: RecordingSleep
) -> None:
    state.set_clock(end_of("on_time"))
    result = await track_one(http, sleep, code_of("on_time"), token="wrong", **REFRESH)
    assert result.status is Status.DELIVERED
    assert state.counters.requests["melhorenvio.token"] == 1
    assert state.counters.statuses[401] == 1


async def test_a_renewed_token_past_its_lifetime_is_renewed_again(
    state: SandboxState, http: httpx.AsyncClient, sleep: RecordingSleep
) -> None:
    state.faults.token_ttl_s = 60
    state.set_clock(end_of("on_time"))
    client = tracker(http, sleep, token="wrong", **REFRESH)
    await client.track([code_of("on_time")])
    state.set_clock(end_of("on_time") + timedelta(minutes=2))
    (result,) = await client.track([code_of("on_time")])
    assert result.status is Status.DELIVERED and state.counters.requests["melhorenvio.token"] == 2


@pytest.mark.parametrize(
    ("creds", "message"),
    [
        ({}, "has no client_id, client_secret, refresh_token to renew it"),
        (REFRESH | {"refresh_token": "wrong"}, r"refresh token of account 'loja' was refused \(HTTP 400\)"),
        (REFRESH | {"client_secret": "wrong"}, r"was refused \(HTTP 401\)"),
    ],
)
async def test_a_wrong_token_without_a_usable_refresh_is_auth_failed(
    http: httpx.AsyncClient, sleep: RecordingSleep, creds: dict[str, str], message: str
) -> None:
    with pytest.raises(AuthFailed, match=message):
        await track_one(http, sleep, code_of("on_time"), token="wrong", **creds)


async def test_an_outage_is_carrier_unavailable_after_retries(
    state: SandboxState, http: httpx.AsyncClient, sleep: RecordingSleep
) -> None:
    state.faults.outages.append((T0 - timedelta(days=1), T0 + timedelta(days=1)))
    with pytest.raises(CarrierUnavailable, match="answered HTTP 503"):
        await track_one(http, sleep, code_of("on_time"))
    assert state.counters.statuses[503] == 4


async def test_the_rate_limit_is_429(state: SandboxState, http: httpx.AsyncClient, sleep: RecordingSleep) -> None:
    state.faults.rate_limit_per_s = 0.001
    await track_one(http, sleep, code_of("on_time"))
    with pytest.raises(RateLimited):
        await tracker(http, sleep).track([code_of("on_time")])
    assert state.counters.statuses[429] >= 1


async def test_the_carriers_error_rate_meets_some_calls(
    state: SandboxState, http: httpx.AsyncClient, sleep: RecordingSleep
) -> None:
    state.faults.error_rate["melhorenvio"] = 0.5
    statuses = [
        (
            await http.post(TRACK_PATH, json={"orders": [code_of("lost")]}, headers={"Authorization": "Bearer t", **UA})
        ).status_code
        for _ in range(20)
    ]
    assert set(statuses) == {200, 503}


# --- pushes ---------------------------------------------------------------------------------------------------


@pytest.fixture
def target() -> Iterator[respx.Route]:
    with respx.mock(assert_all_called=False) as router:
        yield router.post(TARGET).respond(200)


async def play(state: SandboxState, pusher: Pusher, until: datetime) -> None:
    async with httpx.AsyncClient() as client:
        when = T0 - timedelta(hours=4)
        while when <= until:
            state.set_clock(when)
            await pusher.flush(client)
            when += timedelta(hours=1)


def pushed(route: respx.Route, code: str) -> list[TrackingResult]:
    """The pushes ``route`` received for ``code``, each verified and parsed as Zelo would."""
    results = []
    for call in route.calls:
        body = call.request.content
        headers = {k.lower(): v for k, v in call.request.headers.items()}
        assert SPEC.verify_push(headers, body, {"app_secret": SECRET})
        results.extend(r for r in SPEC.parse_webhook(json.loads(body)) if r.tracking_code == code)
    return results


@pytest.mark.parametrize("name", [n for n in scenario_names() if FINAL_STATUS[n] is not None])
async def test_every_scenario_pushes_signed_webhooks_ending_in_its_final_status(
    name: str, state: SandboxState, http: httpx.AsyncClient, sleep: RecordingSleep, target: respx.Route
) -> None:
    pusher = Pusher(state, speakers())
    pusher.target("melhorenvio", TARGET, {"app_secret": SECRET})
    code = code_of(name)
    await play(state, pusher, end_of(name))
    results = pushed(target, code)
    assert results and results[-1].status is FINAL_STATUS[name]
    polled = await track_one(http, sleep, code)
    assert [(e.occurred_at, e.code) for e in results[-1].events] == [(e.occurred_at, e.code) for e in polled.events]


async def test_only_changes_of_melhor_envio_status_push(state: SandboxState, target: respx.Route) -> None:
    pusher = Pusher(state, speakers())
    pusher.target("melhorenvio", TARGET, {"app_secret": SECRET})
    await play(state, pusher, max(end_of("on_time"), end_of("unknown_code")))
    events = [json.loads(c.request.content)["event"] for c in target.calls]
    bodies = [json.loads(c.request.content)["data"] for c in target.calls]
    on_time = [e for e, d in zip(events, bodies, strict=True) if d["id"] == code_of("on_time").lower()]
    assert on_time == ["order.posted", "order.delivered"]  # six scenario events, two Melhor Envio changes
    unknown = [e for e, d in zip(events, bodies, strict=True) if d["id"] == code_of("unknown_code").lower()]
    assert unknown == ["order.posted", f"order.{UNKNOWN}", "order.posted", "order.delivered"]
    assert all(call.request.headers["Content-Type"] == "application/json" for call in target.calls)


async def test_a_refused_push_is_sent_again_on_the_next_flush(state: SandboxState) -> None:
    pusher = Pusher(state, speakers())
    pusher.target("melhorenvio", TARGET, {"app_secret": SECRET})
    state.set_clock(T0 + timedelta(hours=2))
    with respx.mock() as router:
        route = router.post(TARGET).mock(side_effect=[httpx.Response(500)] * 13 + [httpx.Response(200)] * 13)
        async with httpx.AsyncClient() as client:
            first = await pusher.flush(client)
            second = await pusher.flush(client)
            third = await pusher.flush(client)
    assert first == {"sent": 12, "acknowledged": 0, "refused": 12}  # every posted scenario, none found
    assert second["sent"] == 12 and second["refused"] == 1 and second["acknowledged"] == 11
    assert third == {"sent": 1, "acknowledged": 1, "refused": 0}
    assert route.calls[0].request.content in [c.request.content for c in route.calls[12:]]


async def test_a_target_without_app_secret_gets_pushes_zelo_refuses(state: SandboxState) -> None:
    pusher = Pusher(state, speakers())
    pusher.target("melhorenvio", TARGET, {})
    state.set_clock(T0 + timedelta(hours=2))
    with respx.mock() as router:
        route = router.post(TARGET).respond(401)
        async with httpx.AsyncClient() as client:
            await pusher.flush(client)
    body = route.calls[0].request.content
    headers = {k.lower(): v for k, v in route.calls[0].request.headers.items()}
    assert "x-me-signature" not in headers
    assert not SPEC.verify_push(headers, body, {"app_secret": SECRET})


def test_the_invalid_scenario_code_is_one_check_code_refuses() -> None:
    assert check_code(code_of("invalid")) is not None
