"""The sandbox sending Loggi's webhooks: bodies of up to 50 packages, Basic-signed, resent until acknowledged."""

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import respx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from carriers.base import Status, TrackingResult
from carriers.loggi import SPEC
from carriers.sandbox import Parcel, SandboxClock, SandboxState, create_app, serve
from carriers.sandbox.loggi import PUSH_BATCH, bodies, headers
from carriers.sandbox.pushes import Pusher
from carriers.sandbox.voices import speakers

T0 = datetime(2025, 3, 3, 12, 0, tzinfo=UTC)
TARGET = "https://zelo.test/v1/webhooks/carriers/loggi"
PUSH = {"webhook_user": "loja", "webhook_password": "s3nha"}
ACCOUNT = {"client_id": "cid", "client_secret": "s", "company_id": "777", **PUSH}


def code(n: int) -> str:
    return f"SH{n:010d}LG"


@pytest.fixture
def state() -> SandboxState:
    sandbox = SandboxState(SandboxClock(T0))
    sandbox.register([Parcel(code(n), "on_time", T0 - timedelta(days=1), "loggi") for n in range(60)])
    sandbox.register([Parcel("AB0000000001LG", "not_found", T0 - timedelta(days=1), "loggi")])
    return sandbox


@pytest.fixture
def pusher(state: SandboxState) -> Pusher:
    pusher = Pusher(state, speakers())
    pusher.target("loggi", TARGET, PUSH)
    return pusher


def received(route: respx.Route) -> list[TrackingResult]:
    """What Zelo reads from every push the route received, after checking each one's signature."""
    results = []
    for call in route.calls:
        request = call.request
        lowered = {k.lower(): v for k, v in request.headers.items()}
        assert SPEC.verify_push is not None and SPEC.verify_push(lowered, request.content, ACCOUNT)
        results += SPEC.parse_webhook(json.loads(request.content))
    return results


def test_bodies_carry_up_to_50_packages_and_name_their_codes(state: SandboxState, pusher: Pusher) -> None:
    out = bodies(pusher.due("loggi"))
    assert [len(codes) for _, codes in out] == [PUSH_BATCH, 10]
    assert {c for _, codes in out for c in codes} == {code(n) for n in range(60)}  # not the never-found one
    first = json.loads(out[0][0])
    assert [p["trackingCode"] for p in first["packages"]] == list(out[0][1])
    package = first["packages"][0]
    assert set(package) == {
        "loggiKey",
        "trackingCode",
        "status",
        "location",
        "promisedDate",
        "requestTime",
        "trackingHistory",
    }
    assert package["requestTime"] == package["status"]["updatedTime"]
    assert bodies([]) == []


def test_headers_sign_with_the_target_s_credentials() -> None:
    signed = headers(b"{}", PUSH)
    assert signed["content-type"] == "application/json"
    assert SPEC.verify_push is not None and SPEC.verify_push(signed, b"{}", ACCOUNT)
    assert not SPEC.verify_push(headers(b"{}", {**PUSH, "webhook_password": "x"}), b"{}", ACCOUNT)


async def test_flush_sends_signed_bodies_zelo_can_read_then_nothing_until_parcels_move(
    state: SandboxState, pusher: Pusher
) -> None:
    with respx.mock(assert_all_called=False) as mock:
        route = mock.post(TARGET).respond(200)
        async with httpx.AsyncClient() as http:
            assert await pusher.flush(http) == {"sent": 2, "acknowledged": 2, "refused": 0}
            results = received(route)
            assert len(results) == 60 and {r.status for r in results} == {Status.IN_TRANSIT}
            assert all([e.code for e in r.events] == ["LOGGI-2", "LOGGI-3"] for r in results)

            assert await pusher.flush(http) == {"sent": 0, "acknowledged": 0, "refused": 0}
            state.set_clock(T0 + timedelta(days=4))  # the stories end: delivered
            assert await pusher.flush(http) == {"sent": 2, "acknowledged": 2, "refused": 0}
    latest = received(route)[60:]
    assert len(latest) == 60 and {r.status for r in latest} == {Status.DELIVERED}
    assert {r.expected_delivery.isoformat() for r in latest if r.expected_delivery} == {"2025-03-07"}


@pytest.mark.parametrize("fault", [httpx.Response(500), httpx.Response(401), httpx.ConnectError("down")])
async def test_unacknowledged_pushes_are_sent_again(state: SandboxState, pusher: Pusher, fault: Any) -> None:
    with respx.mock(assert_all_called=False) as mock:
        route = mock.post(TARGET).mock(side_effect=[fault, httpx.Response(201)])
        async with httpx.AsyncClient() as http:
            # the first body meets the fault, the second is acknowledged: only the first is due again
            assert await pusher.flush(http) == {"sent": 2, "acknowledged": 1, "refused": 1}
            route.side_effect = None
            route.return_value = httpx.Response(200)
            assert await pusher.flush(http) == {"sent": 1, "acknowledged": 1, "refused": 0}
            assert await pusher.flush(http) == {"sent": 0, "acknowledged": 0, "refused": 0}
    assert route.call_count == 3
    assert route.calls[0].request.content == route.calls[2].request.content  # the same body, sent again


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[str, list[TrackingResult], list[int]]]:
    """A local stand-in for Zelo's webhook door: checks the account's Basic credentials, then reads the body."""
    results: list[TrackingResult] = []
    answers: list[int] = []

    async def webhook(request: Request) -> Response:
        body = await request.body()
        assert SPEC.verify_push is not None
        if not SPEC.verify_push({k.lower(): v for k, v in request.headers.items()}, body, ACCOUNT):
            answers.append(401)
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        results.extend(SPEC.parse_webhook(json.loads(body)))
        answers.append(200)
        return JSONResponse({"ok": True})

    app = Starlette(routes=[Route("/v1/webhooks/carriers/loggi", webhook, methods=["POST"])])
    async with serve(app) as base_url:
        yield base_url + "/v1/webhooks/carriers/loggi", results, answers


async def test_the_sandbox_app_pushes_to_a_local_target_through_its_control_routes(
    state: SandboxState, receiver: tuple[str, list[TrackingResult], list[int]]
) -> None:
    url, results, answers = receiver
    transport = httpx.ASGITransport(app=create_app(state))
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as sandbox:
        wrong = {"url": url, "credentials": {**PUSH, "webhook_password": "errada"}}
        assert (await sandbox.put("/_sandbox/webhooks/loggi", json=wrong)).status_code == 200
        assert (await sandbox.post("/_sandbox/push")).json() == {"sent": 2, "acknowledged": 0, "refused": 2}
        assert answers == [401, 401] and results == []

        right = {"url": url, "credentials": PUSH}
        assert (await sandbox.put("/_sandbox/webhooks/loggi", json=right)).json() == {"carrier": "loggi", "url": url}
        assert (await sandbox.post("/_sandbox/push")).json() == {"sent": 2, "acknowledged": 2, "refused": 0}
        assert (await sandbox.post("/_sandbox/push")).json() == {"sent": 0, "acknowledged": 0, "refused": 0}
    assert sorted(r.tracking_code for r in results) == sorted(code(n) for n in range(60))
    assert {r.status for r in results} == {Status.IN_TRANSIT}
