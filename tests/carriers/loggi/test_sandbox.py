"""The sandbox speaking Loggi: token and tracking routes, every built-in scenario polled through the real client."""

import base64
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from carriers.base import AccountConfig, Reason, Status, TrackingResult
from carriers.correios.parse import parse as parse_correios
from carriers.correios.s10 import make_code
from carriers.loggi.client import LoggiClient
from carriers.loggi.codes import table
from carriers.loggi.parse import NOT_FOUND
from carriers.sandbox import Faults, Parcel, SandboxClock, SandboxState, create_app, scenario_names
from carriers.sandbox.loggi import VOICE, loggi_key
from carriers.sandbox.voices import speakers, voices
from tests.support import RecordingSleep

T0 = datetime(2025, 3, 3, 12, 0, tzinfo=UTC)  # Monday 09:00 in Brasília
START = T0 - timedelta(days=1)
CODE = "SH1007503594LG"
CREDENTIALS = {"client_id": "cid", "client_secret": "s3cret", "company_id": "777"}
TRACK = "/v1/companies/777/packages/{}/tracking"


def loggi_code(n: int) -> str:
    return f"SH{n:010d}LG"


@pytest.fixture
def state() -> SandboxState:
    sandbox = SandboxState(SandboxClock(T0))
    sandbox.register([Parcel(CODE, "on_time", START, "loggi")])
    return sandbox


@pytest.fixture
async def client(state: SandboxState) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(state))
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as http:
        yield http


async def token(http: httpx.AsyncClient, secret: str = "s3cret") -> httpx.Response:
    return await http.post("/v2/oauth2/token", json={"client_id": "cid", "client_secret": secret})


async def track(http: httpx.AsyncClient, bearer: str | None, code: str = CODE) -> httpx.Response:
    headers = {"Authorization": f"Bearer {bearer}"} if bearer is not None else {}
    return await http.get(TRACK.format(code), headers=headers)


def claims(jwt: str) -> dict[str, object]:
    part = jwt.split(".")[1]
    decoded: dict[str, object] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return decoded


def test_loggi_is_a_registered_voice_that_pushes() -> None:
    assert VOICE in voices() and speakers()["loggi"] is VOICE.speaker


async def test_token_is_a_jwt_expiring_on_the_sandbox_clock(client: httpx.AsyncClient, state: SandboxState) -> None:
    response = await token(client)
    assert response.status_code == 200
    jwt = response.json()["idToken"]
    assert claims(jwt) == {"sub": "cid", "iat": int(T0.timestamp()), "exp": int((T0 + timedelta(days=1)).timestamp())}
    assert state.token_valid(jwt)
    assert jwt != (await token(client)).json()["idToken"]


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"client_id": "cid", "client_secret": "wrong"}, 401, "Credenciais inválidas."),
        ({"client_id": "cid"}, 400, "Informe client_secret."),
        ({}, 400, "Informe client_id e client_secret."),
        ([], 400, "Informe client_id e client_secret."),
    ],
)
async def test_token_refusals(client: httpx.AsyncClient, body: object, status: int, message: str) -> None:
    response = await client.post("/v2/oauth2/token", json=body)
    assert (response.status_code, response.json()) == (status, {"message": message})


async def test_token_needs_json(client: httpx.AsyncClient) -> None:
    response = await client.post("/v2/oauth2/token", content=b"client_id=cid")
    assert response.status_code == 400 and "JSON" in response.json()["message"]


@pytest.mark.parametrize("bearer", [None, "", "forged", "eyJ.eyJ.x"])
async def test_tracking_needs_an_issued_token(client: httpx.AsyncClient, bearer: str | None) -> None:
    response = await track(client, bearer)
    assert (response.status_code, response.json()) == (401, {"message": "Token inválido ou expirado."})


async def test_tracking_tokens_expire_on_the_sandbox_clock(client: httpx.AsyncClient, state: SandboxState) -> None:
    jwt = (await token(client)).json()["idToken"]
    assert (await track(client, jwt)).status_code == 200
    state.set_clock(T0 + timedelta(days=1))
    assert (await track(client, jwt)).status_code == 401


async def test_tracking_answers_the_package_in_loggi_s_shape(client: httpx.AsyncClient) -> None:
    jwt = (await token(client)).json()["idToken"]
    body = (await track(client, jwt)).json()
    (package,) = body["packages"]
    assert package["trackingCode"] == CODE and package["loggiKey"] == loggi_key(CODE)
    assert len(package["loggiKey"]) == 26 and package["loggiKey"].isalnum() and package["loggiKey"].isupper()
    assert package["promisedDate"] == "2025-03-07"
    history = package["trackingHistory"]
    assert [h["status"]["code"] for h in history] == ["2", "3"]  # a day in: posted (PO), in transit (RO)
    assert package["status"] == history[-1]["status"] and package["location"] == history[-1]["location"]
    first = history[0]
    assert first["location"] == {"city": "São Paulo", "state": "SP"}
    assert set(first["status"]) == {"code", "highLevelStatus", "description", "actionRequired", "updatedTime"}
    assert first["status"]["updatedTime"].endswith("Z")


@pytest.mark.parametrize(
    ("code", "scenario"),
    [("AB0000000001LG", None), ("AB0000000002LG", "not_found"), ("SH12LG", "invalid")],
)
async def test_packages_loggi_does_not_know_answer_404(
    client: httpx.AsyncClient, state: SandboxState, code: str, scenario: str | None
) -> None:
    if scenario is not None:
        state.register([Parcel(code, scenario, START, "loggi")])
    jwt = (await token(client)).json()["idToken"]
    response = await track(client, jwt, code)
    assert (response.status_code, response.json()) == (404, {"message": "Pacote não encontrado."})


async def test_a_package_is_unknown_until_its_first_event(client: httpx.AsyncClient, state: SandboxState) -> None:
    state.register([Parcel("AB0000000003LG", "on_time", T0 + timedelta(hours=2), "loggi")])
    jwt = (await token(client)).json()["idToken"]
    assert (await track(client, jwt, "AB0000000003LG")).status_code == 404
    state.set_clock(T0 + timedelta(hours=4))
    assert (await track(client, jwt, "AB0000000003LG")).status_code == 200


async def test_a_correios_parcel_is_not_a_loggi_package(client: httpx.AsyncClient, state: SandboxState) -> None:
    state.register([Parcel(make_code("SS", 1), "on_time", START)])
    jwt = (await token(client)).json()["idToken"]
    assert (await track(client, jwt, make_code("SS", 1))).status_code == 404


def test_loggi_parcels_need_loggi_codes_except_in_the_invalid_scenario(state: SandboxState) -> None:
    with pytest.raises(ValueError, match="is not a Loggi code"):
        state.register([Parcel("SH12LG", "on_time", START, "loggi")])


async def test_the_gate_outage_error_rate_and_rate_limit(client: httpx.AsyncClient, state: SandboxState) -> None:
    jwt = (await token(client)).json()["idToken"]
    state.faults.outages = [(T0, T0 + timedelta(hours=1))]
    assert (await track(client, jwt)).status_code == 503
    state.faults.outages = []
    state.faults.error_rate["loggi"] = 1.0
    assert (await track(client, jwt)).status_code == 503
    state.faults.error_rate["loggi"] = 0.0
    state.faults.rate_limit_per_s = 1.0
    statuses = [(await track(client, jwt)).status_code for _ in range(3)]
    assert statuses[0] == 200 and 429 in statuses


def sandbox_http(state: SandboxState) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(state)), base_url="http://sandbox")


@pytest.mark.parametrize("scenario", scenario_names())
async def test_every_scenario_polled_from_loggi_reads_as_from_correios(scenario: str) -> None:
    """At each event's instant (and before the first, and long after the last), the real Loggi client on the
    sandbox gives the parcel the status and promised date that the Correios rendering of the same story gives."""
    state = SandboxState(SandboxClock(T0), faults=Faults())
    loggi = "AB0000000001LG" if scenario != "invalid" else "SH12LG"
    correios = make_code("SS", 7) if scenario != "invalid" else "SS000000000XX"
    state.register([Parcel(loggi, scenario, T0, "loggi"), Parcel(correios, scenario, T0)])
    account = AccountConfig(1, "loggi", "loja", "http://sandbox", CREDENTIALS)
    async with sandbox_http(state) as http:
        tracker = LoggiClient(account, http, state.clock.now, RecordingSleep())
        loggi_times, correios_times = state.timelines[loggi].times, state.timelines[correios].times
        assert len(loggi_times) == len(correios_times)
        instants = [(T0 - timedelta(hours=1), T0 - timedelta(hours=1))]
        instants += [
            (datetime.fromtimestamp(a, UTC), datetime.fromtimestamp(b, UTC))
            for a, b in zip(loggi_times, correios_times, strict=True)
        ]
        instants.append((T0 + timedelta(days=60), T0 + timedelta(days=60)))
        seen = []
        for at_loggi, at_correios in instants:
            state.set_clock(at_correios)
            (reference,) = parse_correios({"objetos": state.render([correios])})
            state.set_clock(at_loggi)
            (result,) = await tracker.track([loggi])
            assert result.status is reference.status, (scenario, at_loggi)
            if reference.live_events and (pair := _latest_pair(reference)) in LOGGI_PAIRS:
                assert _latest_pair(result) == pair, (scenario, at_loggi)
            seen.append(result.status)
            if result.error is not None:
                assert result.error.code == NOT_FOUND and not result.error.final
            else:
                assert result.expected_delivery == reference.expected_delivery
    assert seen[0] is Status.PENDING
    if state.scenarios[scenario].events:
        assert seen[-1] is not Status.PENDING
    if scenario == "unknown_code":
        (final,) = await _final(state, loggi)
        assert any(not e.known_code and e.code == "LOGGI-999" for e in final.events)
        assert any("unknown Loggi status code '999'" in p for p in final.problems)


LOGGI_PAIRS = {(info.status, info.reason) for info in table().values()}


def _latest_pair(result: TrackingResult) -> tuple[Status, Reason | None]:
    latest = result.live_events[-1]
    return latest.status, latest.reason


async def _final(state: SandboxState, code: str) -> list[TrackingResult]:
    account = AccountConfig(1, "loggi", "loja", "http://sandbox", CREDENTIALS)
    async with sandbox_http(state) as http:
        return list(await LoggiClient(account, http, state.clock.now, RecordingSleep()).track([code]))


async def test_a_reversal_takes_the_cancelled_event_out_of_the_history() -> None:
    state = SandboxState(SandboxClock(T0))
    state.register([Parcel("AB0000000001LG", "reversal", T0, "loggi")])
    times = state.timelines["AB0000000001LG"].times  # PO RO DO BDE EST OEC BDE
    async with sandbox_http(state) as http:
        state.set_clock(datetime.fromtimestamp(times[3], UTC))
        jwt = (await token(http)).json()["idToken"]
        before = (await track(http, jwt, "AB0000000001LG")).json()["packages"][0]["trackingHistory"]
        state.set_clock(datetime.fromtimestamp(times[4], UTC))
        after = (await track(http, jwt, "AB0000000001LG")).json()["packages"][0]["trackingHistory"]
    assert [h["status"]["code"] for h in before] == ["2", "3", "3", "5"]
    assert [h["status"]["code"] for h in after] == ["2", "3", "3"]
