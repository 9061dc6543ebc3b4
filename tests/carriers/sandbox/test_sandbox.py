"""The sandbox over HTTP: token flow, tracking requests, control endpoints, and a real socket."""

import base64
import socket
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from carriers.correios.s10 import make_code
from carriers.sandbox import Parcel, SandboxClock, SandboxState, create_app, serve, spawn, wait_ready

T0 = datetime(2025, 3, 3, 12, 0, tzinfo=UTC)  # 09:00 in Brasília
CODES = [make_code("SS", n) for n in range(1, 6)]
BASIC = "Basic " + base64.b64encode(b"zelo:s3cret").decode()


@pytest.fixture
def state() -> SandboxState:
    sandbox = SandboxState(SandboxClock(T0))
    sandbox.register(Parcel(code, "on_time", T0 - timedelta(days=1)) for code in CODES)
    return sandbox


async def get_token(http: httpx.AsyncClient, basic: str = BASIC) -> httpx.Response:
    return await http.post(
        "/token/v1/autentica/cartaopostagem", json={"numero": "0067599079"}, headers={"Authorization": basic}
    )


async def track(http: httpx.AsyncClient, token: str, params: list[tuple[str, str]]) -> httpx.Response:
    return await http.get("/srorastro/v1/objetos", params=tuple(params), headers={"Authorization": f"Bearer {token}"})


async def test_token_is_issued_with_201_and_a_local_expiry(client: httpx.AsyncClient) -> None:
    response = await get_token(client)
    assert response.status_code == 201
    body = response.json()
    assert body["id"] == "zelo"
    assert body["ambiente"] == "PRODUCAO"
    assert body["cartaoPostagem"] == {"numero": "0067599079", "contrato": "9912345678", "dr": 74}
    assert body["emissao"] == "2025-03-03T09:00:00"
    assert body["expiraEm"] == "2025-03-04T09:00:00"
    assert body["zoneOffset"] == "-03:00"
    assert len(body["token"]) >= 32
    assert body["token"] != (await get_token(client)).json()["token"]


@pytest.mark.parametrize(
    "authorization",
    [
        "Basic " + base64.b64encode(b"zelo:wrong").decode(),
        "",
        "Basic !!!not-base64!!!",
        "Basic " + base64.b64encode(b"no-colon").decode(),
        "Bearer abc",
    ],
)
async def test_token_refused_for_wrong_or_garbled_credentials(client: httpx.AsyncClient, authorization: str) -> None:
    response = await get_token(client, authorization)
    assert response.status_code == 401
    assert isinstance(response.json()["msgs"][0], str)


async def test_token_needs_the_posting_card(client: httpx.AsyncClient) -> None:
    path = "/token/v1/autentica/cartaopostagem"
    assert (await client.post(path, json={}, headers={"Authorization": BASIC})).status_code == 400
    assert (await client.post(path, content=b"{", headers={"Authorization": BASIC})).status_code == 400


async def test_tokens_expire_on_the_sandbox_clock(client: httpx.AsyncClient, state: SandboxState) -> None:
    token = (await get_token(client)).json()["token"]
    assert (await track(client, token, [("codigosObjetos", CODES[0])])).status_code == 200
    assert isinstance(state.clock, SandboxClock)
    state.clock.advance(timedelta(hours=23, minutes=59))
    assert (await track(client, token, [("codigosObjetos", CODES[0])])).status_code == 200
    state.clock.advance(timedelta(minutes=1))
    expired = await track(client, token, [("codigosObjetos", CODES[0])])
    assert expired.status_code == 401
    assert expired.json()["msgs"]
    state.faults.token_ttl_s = 60
    short = (await get_token(client)).json()
    assert datetime.fromisoformat(short["expiraEm"]) - datetime.fromisoformat(short["emissao"]) == timedelta(seconds=60)


@pytest.mark.parametrize("authorization", [None, "Bearer not-issued", "Basic " + "x" * 20])
async def test_tracking_needs_an_issued_bearer_token(client: httpx.AsyncClient, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = await client.get("/srorastro/v1/objetos", params={"codigosObjetos": CODES[0]}, headers=headers)
    assert response.status_code == 401
    assert response.json() == {"msgs": ["Token inválido ou expirado."]}


async def test_tracking_answers_in_request_order_for_comma_and_repeated_params(client: httpx.AsyncClient) -> None:
    token = (await get_token(client)).json()["token"]
    wanted = [CODES[3], CODES[0], CODES[4], CODES[1]]
    comma = await track(client, token, [("codigosObjetos", ",".join(wanted)), ("resultado", "T")])
    repeated = await track(client, token, [("codigosObjetos", c) for c in wanted])
    pieces = [f"{wanted[0]}, {wanted[1]},", "", ",".join(wanted[2:]).lower()]
    mixed = await track(client, token, [("codigosObjetos", piece) for piece in pieces])
    assert comma.status_code == repeated.status_code == mixed.status_code == 200
    assert comma.json() == repeated.json() == mixed.json()
    body = comma.json()
    assert [o["codObjeto"] for o in body["objetos"]] == wanted
    assert body["quantidade"] == 4
    assert body["resultado"] == "Todos os Eventos"
    assert body["versao"] == "sandbox"
    assert [e["codigo"] for e in body["objetos"][0]["eventos"]] == ["RO", "PO"]


async def test_tracking_sro_messages(client: httpx.AsyncClient, state: SandboxState) -> None:
    state.register([Parcel(make_code("SS", 90), "not_found", T0), Parcel("NOT-A-CODE", "invalid", T0)])
    state.register([Parcel(make_code("SS", 91), "on_time", T0 + timedelta(days=1))])
    token = (await get_token(client)).json()["token"]
    codes = [make_code("SS", 90), "NOT-A-CODE", make_code("SS", 91), make_code("QQ", 7), "XX123BR"]
    objects = (await track(client, token, [("codigosObjetos", ",".join(codes))])).json()["objetos"]
    assert [o["mensagem"][:7] for o in objects] == ["SRO-020", "SRO-019", "SRO-020", "SRO-020", "SRO-019"]
    assert all("eventos" not in o for o in objects)


async def test_tracking_takes_1_to_50_codes(client: httpx.AsyncClient) -> None:
    token = (await get_token(client)).json()["token"]
    fifty = [make_code("PN", n) for n in range(50)]
    assert (await track(client, token, [("codigosObjetos", ",".join(fifty))])).status_code == 200
    too_many = await track(client, token, [("codigosObjetos", ",".join([*fifty, CODES[0]]))])
    assert too_many.status_code == 400
    assert "máximo de 50 objetos" in too_many.json()["msgs"][0]
    assert (await track(client, token, [("codigosObjetos", " , ")])).status_code == 400
    assert (await track(client, token, [])).status_code == 400


async def test_single_code_path_and_last_event_only(client: httpx.AsyncClient) -> None:
    token = (await get_token(client)).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    one = await client.get(f"/srorastro/v1/objetos/{CODES[2]}", params={"resultado": "U"}, headers=headers)
    body = one.json()
    assert body["resultado"] == "Último Evento"
    assert [(e["codigo"], e["tipo"]) for e in body["objetos"][0]["eventos"]] == [("RO", "01")]


async def test_control_endpoints(client: httpx.AsyncClient, state: SandboxState) -> None:
    code = make_code("OY", 42)
    parcels = [{"code": code, "scenario": "lost", "start": "2025-03-01T08:00:00-03:00"}]
    registered = await client.post("/_sandbox/parcels", json={"parcels": parcels})
    assert registered.json() == {"registered": 1, "total": 6}
    assert state.parcels[code].scenario == "lost"
    parcels[0]["scenario"] = "stolen"
    assert (await client.post("/_sandbox/parcels", json={"parcels": parcels})).json()["total"] == 6
    assert state.parcels[code].scenario == "stolen"

    moved = await client.put("/_sandbox/clock", json={"now": "2025-03-10T12:00:00-03:00"})
    assert moved.status_code == 200
    assert state.clock.now() == datetime(2025, 3, 10, 15, tzinfo=UTC)
    token = (await get_token(client)).json()["token"]
    objects = (await track(client, token, [("codigosObjetos", code)])).json()["objetos"]
    assert objects[0]["eventos"][0]["codigo"] == "BDI"

    stats = (await client.get("/_sandbox/stats")).json()
    assert stats["requests"] == {"clock": 1, "parcels": 2, "token": 1, "track": 1}
    assert stats["statuses"] == {"200": 4, "201": 1}
    assert stats["objects_returned"] == 1
    assert stats["parcels"] == 6


def one(**fields: str) -> dict[str, object]:
    return {"parcels": [{"code": CODES[0], "scenario": "on_time", "start": "2025-03-01T08:00:00Z", **fields}]}


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (one(scenario="teleported"), 422, "unknown scenario 'teleported'"),
        (one(code="SS000000010BR"), 422, "fails the S10 check digit"),
        (one(start="2025-03-01T08:00"), 422, "parcels[0].start: expected an ISO-8601 date-time with an offset"),
        (one(code=""), 422, "parcels[0].code"),
        ({"parcels": "all"}, 422, "'parcels' must be a list"),
        ([1], 400, "expected a JSON object"),
    ],
)
async def test_parcel_registration_errors(
    client: httpx.AsyncClient, state: SandboxState, body: object, status: int, message: str
) -> None:
    response = await client.post("/_sandbox/parcels", json=body)
    assert response.status_code == status
    assert message in response.json()["msgs"][0]
    assert state.parcels[CODES[0]].scenario == "on_time"
    assert len(state.parcels) == len(CODES)


async def test_clock_without_set_answers_409() -> None:
    class FixedClock:
        def now(self) -> datetime:
            return T0

    app = create_app(SandboxState(FixedClock()))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox") as http:
        response = await http.put("/_sandbox/clock", json={"now": "2025-03-10T12:00:00Z"})
        assert response.status_code == 409
        assert (await http.put("/_sandbox/clock", json={"now": "soon"})).status_code == 422


async def test_serve_on_a_real_socket() -> None:
    state = SandboxState(SandboxClock(T0))
    async with serve(create_app(state)) as base_url, httpx.AsyncClient(base_url=base_url) as http:
        assert base_url.startswith("http://127.0.0.1:")
        assert not base_url.endswith(":0")
        parcels = [{"code": CODES[0], "scenario": "reversal", "start": "2025-03-01T00:00:00-03:00"}]
        assert (await http.post("/_sandbox/parcels", json={"parcels": parcels})).status_code == 200
        token = (await get_token(http)).json()["token"]
        body = (await track(http, token, [("codigosObjetos", CODES[0])])).json()
        assert [e["codigo"] for e in body["objetos"][0]["eventos"]][:2] == ["EST", "BDE"]
    async with httpx.AsyncClient() as http:
        with pytest.raises(httpx.ConnectError):
            await http.get(base_url + "/_sandbox/stats")


def test_spawn_runs_the_sandbox_in_its_own_process() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = spawn(port, start=T0)
    try:
        base_url = f"http://127.0.0.1:{port}"
        wait_ready(base_url, timeout=30, process=process)
        assert httpx.get(base_url + "/_sandbox/clock").json() == {"now": T0.isoformat()}
    finally:
        process.terminate()
        process.wait(timeout=10)
