"""Fault injection: outages (503), rate limiting (429 ± Retry-After), latency, and the order of the checks."""

import base64
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from carriers.correios.s10 import make_code
from carriers.sandbox import Faults, Parcel, SandboxClock, SandboxState

T0 = datetime(2025, 3, 3, 12, 0, tzinfo=UTC)
CODE = make_code("SS", 1)
BASIC = "Basic " + base64.b64encode(b"zelo:s3cret").decode()


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def monotonic() -> FakeMonotonic:
    return FakeMonotonic()


@pytest.fixture
def state(monotonic: FakeMonotonic) -> SandboxState:
    sandbox = SandboxState(SandboxClock(T0), monotonic=monotonic)
    sandbox.register([Parcel(CODE, "on_time", T0 - timedelta(days=1))])
    return sandbox


async def new_token(http: httpx.AsyncClient) -> str:
    path = "/token/v1/autentica/cartaopostagem"
    response = await http.post(path, json={"numero": "0067599079"}, headers={"Authorization": BASIC})
    token: str = response.json()["token"]
    return token


async def track(http: httpx.AsyncClient, token: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"}
    return await http.get("/srorastro/v1/objetos", params={"codigosObjetos": CODE}, headers=headers)


async def test_outage_window_answers_503_inside_and_200_outside(client: httpx.AsyncClient, state: SandboxState) -> None:
    token = await new_token(client)
    window = {"outages": [["2025-03-03T10:00:00-03:00", "2025-03-03T11:00:00-03:00"]]}
    assert (await client.put("/_sandbox/faults", json=window)).status_code == 200
    assert state.faults.outages == [(T0 + timedelta(hours=1), T0 + timedelta(hours=2))]
    assert (await track(client, token)).status_code == 200  # 09:00 local: before the window
    for local_time, status in (("10:00", 503), ("10:59", 503), ("11:00", 200)):
        await client.put("/_sandbox/clock", json={"now": f"2025-03-03T{local_time}:00-03:00"})
        response = await track(client, token)
        assert response.status_code == status, local_time
        if status == 503:
            assert response.json()["msgs"]
    assert (await client.put("/_sandbox/faults", json={"outages": []})).json()["outages"] == []


async def test_rate_limit_answers_429_alternating_retry_after(
    client: httpx.AsyncClient, state: SandboxState, monotonic: FakeMonotonic
) -> None:
    token, other = await new_token(client), await new_token(client)
    assert (await client.put("/_sandbox/faults", json={"rate_limit_per_s": 2})).status_code == 200
    assert [(await track(client, token)).status_code for _ in range(2)] == [200, 200]  # burst = rate
    rejected = [await track(client, token) for _ in range(3)]
    assert [r.status_code for r in rejected] == [429, 429, 429]
    assert [r.headers.get("Retry-After") for r in rejected] == ["1", None, "1"]
    assert all(r.content == b"" for r in rejected)
    assert (await track(client, other)).status_code == 200  # buckets are per token
    monotonic.now += 0.5  # refills one request at 2/s
    assert [(await track(client, token)).status_code for _ in range(2)] == [200, 429]
    state.faults.rate_limit_per_s = None
    assert (await track(client, token)).status_code == 200
    assert state.stats()["rate_limited"] == 4


async def test_checks_run_auth_then_outage_then_rate_limit(client: httpx.AsyncClient, state: SandboxState) -> None:
    token = await new_token(client)
    state.faults = Faults(outages=[(T0, T0 + timedelta(hours=1))], rate_limit_per_s=1)
    assert (await track(client, "nope")).status_code == 401
    assert [(await track(client, token)).status_code for _ in range(3)] == [503, 503, 503]
    state.faults.outages = []
    assert [(await track(client, token)).status_code for _ in range(2)] == [200, 429]  # outage took no tokens


async def test_latency_delays_tracking_answers(client: httpx.AsyncClient, state: SandboxState) -> None:
    token = await new_token(client)
    assert (await client.put("/_sandbox/faults", json={"latency_ms": 80})).json()["latency_ms"] == 80
    began = time.perf_counter()
    assert (await track(client, token)).status_code == 200
    assert time.perf_counter() - began >= 0.075
    state.faults.latency_ms = 0


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"rate_limit_per_s": 0}, "rate_limit_per_s: expected null or a number > 0"),
        ({"latency_ms": -5}, "latency_ms: expected a whole number >= 0"),
        ({"token_ttl_s": 0}, "token_ttl_s: expected a whole number >= 1"),
        ({"outages": [["2025-03-03T10:00:00Z"]]}, "outages[0]: expected [from, to]"),
        ({"outages": [["2025-03-03T10:00:00Z", "2025-03-03T09:00:00Z"]]}, "'to' must be after 'from'"),
        ({"outages": [["2025-03-03T10:00:00", "2025-03-03T11:00:00Z"]]}, "outages[0][0]: expected an ISO-8601"),
        ({"latency_ms": 5, "chaos": True}, "unknown fault field(s) ['chaos']"),
    ],
)
async def test_bad_fault_settings_are_refused_whole(
    client: httpx.AsyncClient, state: SandboxState, patch: dict[str, object], message: str
) -> None:
    response = await client.put("/_sandbox/faults", json=patch)
    assert response.status_code == 422
    assert message in response.json()["msgs"][0]
    assert state.faults == Faults()


async def test_fault_settings_round_trip(client: httpx.AsyncClient) -> None:
    patch = {"rate_limit_per_s": 50, "latency_ms": 0, "token_ttl_s": 3600, "error_rate": {"jadlog": 0.25}}
    pi = {"pi_error_rate": 0.0, "pi_seed": 0, "pi_blocked_motivos": []}
    assert (await client.put("/_sandbox/faults", json=patch)).json() == {"outages": [], **patch, **pi}
    assert (await client.get("/_sandbox/faults")).json()["rate_limit_per_s"] == 50


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"pi_error_rate": 1.5}, "pi_error_rate: expected a number from 0 to 1, got 1.5"),
        ({"pi_seed": "x"}, "pi_seed: expected a whole number, got 'x'"),
        ({"pi_blocked_motivos": [133, "134"]}, "pi_blocked_motivos: expected a list of motivo codes"),
    ],
)
async def test_bad_claim_fault_settings_are_refused(
    client: httpx.AsyncClient, state: SandboxState, patch: dict[str, object], message: str
) -> None:
    response = await client.put("/_sandbox/faults", json=patch)
    assert response.status_code == 422 and message in response.json()["msgs"][0]
    assert state.faults == Faults()


async def test_claim_fault_settings_apply(client: httpx.AsyncClient, state: SandboxState) -> None:
    patch = {"pi_error_rate": 0.25, "pi_seed": 3, "pi_blocked_motivos": [133]}
    assert (await client.put("/_sandbox/faults", json=patch)).status_code == 200
    assert (state.faults.pi_error_rate, state.faults.pi_seed, state.faults.pi_blocked_motivos) == (0.25, 3, (133,))


async def test_the_request_log_records_arrivals_statuses_and_codes_answered_twice(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    token = await new_token(client)
    assert (await client.get("/_sandbox/requests")).json() == {"recording": False}
    await track(client, token)  # before recording: not logged
    assert (await client.put("/_sandbox/requests", json={"record": True})).json()["times"] == []
    state.faults.rate_limit_per_s = 2
    before = time.time()
    statuses = [(await track(client, token)).status_code for _ in range(3)]
    log = (await client.get("/_sandbox/requests")).json()
    assert statuses == [200, 200, 429] and log["statuses"] == statuses
    assert len(log["times"]) == 3 and all(before <= t <= time.time() for t in log["times"])
    assert log["codes"] == 1 and log["codes_asked_twice"] == 1  # the 429 asked nothing
    assert (await client.put("/_sandbox/requests", json={"record": "yes"})).status_code == 422
    assert (await client.put("/_sandbox/requests", json={"record": False})).json() == {"recording": False}
