"""The sandbox speaking Total Express: its checks over HTTP, and every built-in scenario read by the Total Express
client ending (and passing through) the same normalized statuses as the Correios rendering of that scenario."""

import base64
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from carriers.base import AccountConfig, AuthFailed, CarrierUnavailable, Status, TrackingResult
from carriers.base.retry import RetryPolicy
from carriers.correios.parse import parse as parse_correios
from carriers.correios.s10 import make_code
from carriers.sandbox import Faults, Parcel, SandboxClock, SandboxState, create_app, scenario_names
from carriers.totalexpress import TotalExpressClient
from tests.support import RecordingSleep

T0 = datetime(2025, 3, 3, 12, 0, tzinfo=UTC)  # Monday 09:00 in Brasília
PATH = "/ics-tracking-encomenda-lv/v1/tracking"
BASE = "http://sandbox"
NO_RETRY = RetryPolicy(attempts=1)


def awb(n: int) -> str:
    return f"TE{n:010d}"


def basic(user: str = "loja", password: str = "s3cret") -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.fixture
def state() -> SandboxState:
    return SandboxState(SandboxClock(T0))


@pytest.fixture
async def http(state: SandboxState) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(state)), base_url=BASE) as client:
        yield client


def tracker(http: httpx.AsyncClient, password: str = "s3cret", retry: RetryPolicy = NO_RETRY) -> TotalExpressClient:
    account = AccountConfig(1, "totalexpress", "loja", BASE, {"user": "loja", "password": password})
    return TotalExpressClient(account, http, lambda: T0, RecordingSleep(), retry=retry)


def correios_at(state: SandboxState, code: str, when: datetime) -> TrackingResult:
    [result] = parse_correios({"objetos": state.render([code], when)})
    return result


@pytest.mark.parametrize("scenario", scenario_names())
async def test_every_scenario_passes_through_the_statuses_of_its_correios_rendering(
    state: SandboxState, http: httpx.AsyncClient, scenario: str
) -> None:
    te, sro = (awb(1), make_code("SS", 1)) if scenario != "invalid" else ("TE-1", "SS000000010BR")
    state.register([Parcel(te, scenario, T0, "totalexpress"), Parcel(sro, scenario, T0)])
    client = tracker(http)
    # The two codes are shifted differently (by up to 90 minutes): compare them event by event, each at its own
    # instants, then well after the end.
    te_times, sro_times = state.timelines[te].times, state.timelines[sro].times
    assert len(te_times) == len(sro_times)
    end = T0 + timedelta(days=90)
    instants = [
        *(
            (datetime.fromtimestamp(t, UTC), datetime.fromtimestamp(s, UTC))
            for t, s in zip(te_times, sro_times, strict=True)
        ),
        (end, end),
    ]
    walked = []
    for te_when, sro_when in instants:
        state.set_clock(te_when)
        [result] = await client.track([te])
        expected = correios_at(state, sro, sro_when)
        assert result.tracking_code == te
        assert result.status is expected.status, (scenario, te_when, [e.code for e in result.live_events])
        assert (result.error is None) == (expected.error is None)
        walked.append(result.status)
    if scenario in ("not_found", "invalid"):
        assert walked == [Status.PENDING] and result.error is not None and result.error.code == "not_found"
    else:
        assert len(walked) == len(te_times) + 1 and result.events and result.error is None


async def test_the_stories_end_in_total_express_words(state: SandboxState, http: httpx.AsyncClient) -> None:
    stories = ("on_time", "refused", "unknown_code", "reversal", "customs_hold", "pickup_returned", "stolen")
    state.register(Parcel(awb(n), s, T0, "totalexpress") for n, s in enumerate(stories))
    state.set_clock(T0 + timedelta(days=60))
    results = {r.tracking_code: r for r in await tracker(http).track([awb(n) for n in range(len(stories))])}
    on_time, refused, unknown, reversal, customs, pickup, stolen = (results[awb(n)] for n in range(len(stories)))
    assert [e.code for e in on_time.events] == ["83", "101", "101", "101", "104", "1"]
    assert [e.code for e in refused.events] == ["83", "101", "101", "104", "9", "101", "61"]
    assert [e.code for e in reversal.events] == ["83", "101", "101", "104", "1"]  # delivered, reversed: left out
    assert [e.code for e in customs.events] == ["92", "92"] and customs.status is Status.HELD
    assert [e.code for e in pickup.events] == ["83", "101", "101", "104", "21", "29", "71", "101", "61"]
    assert stolen.status is Status.LOST and stolen.events[-1].code == "27"
    assert [e.known_code for e in unknown.events] == [True, False, True, True, True, True]
    assert unknown.events[1].code == "999" and unknown.status is Status.DELIVERED
    assert any("unknown Total Express status '999'" in p for p in unknown.problems)
    first = on_time.events[0]
    assert first.description == "COLETA REALIZADA" and first.location == "São Paulo"
    assert first.occurred_at.utcoffset() == timedelta(hours=-3)


async def test_an_awb_the_sandbox_does_not_carry_is_not_found(state: SandboxState, http: httpx.AsyncClient) -> None:
    correios = make_code("SS", 2)
    state.register([Parcel(correios, "on_time", T0 - timedelta(days=1)), Parcel(awb(3), "on_time", T0, "totalexpress")])
    response = await http.post(PATH, json={"awbs": [awb(9), correios, awb(3)]}, headers=basic())
    assert response.status_code == 200
    unknown, other_carrier, not_yet = response.json()
    assert unknown == {"AWB": awb(9), "Pedido": None, "Historico": [], "Mensagem": "AWB não localizada"}
    assert other_carrier["Mensagem"] == "AWB não localizada"  # a Correios parcel is not Total Express's
    assert not_yet["Historico"] == [] and not_yet["Mensagem"] == "AWB não localizada"  # no event before its start
    state.set_clock(T0 + timedelta(days=1))
    [moved] = (await http.post(PATH, json={"awbs": [awb(3)]}, headers=basic())).json()
    assert moved["AWB"] == awb(3) and moved["Pedido"] and moved["Historico"][0]["CodStatus"] == 83
    assert "Mensagem" not in moved


async def test_a_total_express_parcel_is_unknown_to_the_correios_endpoint(state: SandboxState) -> None:
    state.register([Parcel(awb(1), "on_time", T0 - timedelta(days=1), "totalexpress")])
    [rendered] = state.render([awb(1)])
    assert "eventos" not in rendered


def test_a_code_total_express_refuses_is_registered_only_as_invalid(state: SandboxState) -> None:
    with pytest.raises(ValueError, match="not a Total Express AWB"):
        state.register([Parcel("TE-1", "on_time", T0, "totalexpress")])
    assert state.register([Parcel("TE-1", "invalid", T0, "totalexpress")]) == 1


@pytest.mark.parametrize(
    "headers",
    [
        basic(password="wrong"),
        {},
        {"Authorization": "Basic !!!not-base64!!!"},
        {"Authorization": "Basic " + base64.b64encode(b"no-colon").decode()},
        {"Authorization": "Bearer abc"},
        basic(password=""),
    ],
)
async def test_missing_garbled_or_wrong_credentials_are_401(http: httpx.AsyncClient, headers: dict[str, str]) -> None:
    response = await http.post(PATH, json={"awbs": [awb(1)]}, headers=headers)
    assert response.status_code == 401 and response.json()["mensagem"]


async def test_the_client_meets_a_wrong_password_as_auth_failed(http: httpx.AsyncClient) -> None:
    with pytest.raises(AuthFailed, match="HTTP 401"):
        await tracker(http, password="wrong").track([awb(1)])


async def test_auth_is_checked_before_the_outage(state: SandboxState, http: httpx.AsyncClient) -> None:
    state.faults.outages.append((T0 - timedelta(hours=1), T0 + timedelta(hours=1)))
    assert (await http.post(PATH, json={"awbs": [awb(1)]}, headers=basic(password="wrong"))).status_code == 401
    assert (await http.post(PATH, json={"awbs": [awb(1)]}, headers=basic())).status_code == 503
    with pytest.raises(CarrierUnavailable, match="HTTP 503"):
        await tracker(http).track([awb(1)])


async def test_the_rate_limit_is_per_user_and_the_client_waits_it_out() -> None:
    state = SandboxState(SandboxClock(T0), faults=Faults(rate_limit_per_s=1.0), monotonic=lambda: 0.0)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(state)), base_url=BASE) as http:
        assert (await http.post(PATH, json={"awbs": [awb(1)]}, headers=basic())).status_code == 200
        limited = await http.post(PATH, json={"awbs": [awb(1)]}, headers=basic())
        assert limited.status_code == 429 and limited.headers["Retry-After"] == "1"
        assert (await http.post(PATH, json={"awbs": [awb(1)]}, headers=basic(user="outra"))).status_code == 200


async def test_an_injected_error_rate_gives_503s_for_total_express_only(
    state: SandboxState, http: httpx.AsyncClient
) -> None:
    state.faults.error_rate["totalexpress"] = 1.0
    assert (await http.post(PATH, json={"awbs": [awb(1)]}, headers=basic())).status_code == 503
    state.faults.error_rate["totalexpress"] = 0.0
    assert (await http.post(PATH, json={"awbs": [awb(1)]}, headers=basic())).status_code == 200


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"awbs": [awb(n) for n in range(51)]}, "51 AWBs; o máximo é 50"),
        ({"awbs": []}, "ao menos uma AWB"),
        ({"pedidos": ["1001"]}, "não consulta por 'pedidos'"),
        ({"awbs": "TE0000000001"}, "uma lista de AWBs"),
        ({"awbs": [1]}, "uma lista de AWBs"),
        (["TE0000000001"], "uma lista de AWBs"),
    ],
)
async def test_a_bad_body_is_400(http: httpx.AsyncClient, body: object, says: str) -> None:
    response = await http.post(PATH, json=body, headers=basic())
    assert response.status_code == 400 and says in response.json()["mensagem"]


async def test_a_body_that_is_not_json_is_400(http: httpx.AsyncClient) -> None:
    response = await http.post(PATH, content=b"awbs=TE0000000001", headers=basic())
    assert response.status_code == 400 and "JSON" in response.json()["mensagem"]


async def test_fifty_awbs_are_answered_and_counted(state: SandboxState, http: httpx.AsyncClient) -> None:
    codes = [awb(n) for n in range(50)]
    results = await tracker(http).track(codes)
    assert sorted(r.tracking_code for r in results) == codes
    stats = (await http.get("/_sandbox/stats")).json()
    assert stats["requests"]["totalexpress"] == 1 and stats["objects_returned"] == 50
