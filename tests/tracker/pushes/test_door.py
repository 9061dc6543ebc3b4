"""The carriers' push door on real databases: each carrier's own signature, replays, shipments not known yet,
oversized and malformed bodies, and what a push changes (events, status, incidents) through the poll pipeline."""

import hashlib
import hmac
import json
import random
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from carriers.loggi.push import basic_authorization
from carriers.melhorenvio.push import sign
from tests.carriers.loggi.samples import CODE, item, journey, package
from tests.tracker.ingest.conftest import make_app, serve
from tests.tracker.pushes.conftest import (
    LOGGI,
    ME,
    ME_SECRET,
    ORDER,
    account,
    codes,
    count,
    loggi_push,
    me_push,
    settled,
    ship,
    shipment,
)
from tracker.clock import SimulatedClock
from tracker.detector import Incident
from tracker.pushes import applier_of
from tracker.pushes.api import MAX_BODY
from tracker.pushes.models import CarrierPush, ParkedPush
from tracker.pushes.pending import apply_pending
from tracker.vault import Vault

Sessions = async_sessionmaker[AsyncSession]


async def test_a_loggi_push_stores_its_events_and_moves_the_shipment(
    app: Any, http: httpx.AsyncClient, sessions: Sessions, clock: SimulatedClock, loggi: int
) -> None:
    answer = await http.post("/v1/webhooks/carriers/loggi", **loggi_push([package(journey())]))
    assert answer.status_code == 202, answer.text
    assert answer.json() == {"push_id": 1, "shipments": 1, "replayed": False, "refused": []}
    await settled(app)
    assert await codes(sessions, CODE) == [f"LOGGI-{n}" for n in range(1, 6)]
    stored = await shipment(sessions, CODE)
    assert stored.status == "delivered" and stored.pushed_at == clock.now()
    assert stored.next_poll_at is not None and stored.next_poll_at >= clock.now() + timedelta(hours=12)  # re-check
    async with sessions() as session:
        push = (await session.scalars(select(CarrierPush))).one()
    assert push.applied_at == clock.now() and push.parked == 0 and push.carrier_account_id == loggi
    assert CODE.encode() not in push.body.encode()  # the body is kept sealed


async def test_a_pushed_shipment_in_transit_is_polled_only_after_the_carriers_push_interval(
    app: Any, http: httpx.AsyncClient, sessions: Sessions, clock: SimulatedClock, loggi: int
) -> None:
    await http.post("/v1/webhooks/carriers/loggi", **loggi_push([package(journey()[:3])]))
    await settled(app)
    stored = await shipment(sessions, CODE)
    assert stored.status == "in_transit"
    assert stored.next_poll_at is not None and stored.next_poll_at >= clock.now() + timedelta(hours=12)
    assert stored.last_polled_at is None  # a push is not a poll


async def test_later_pushes_add_to_the_history_and_a_replay_changes_nothing(
    app: Any, http: httpx.AsyncClient, sessions: Sessions, clock: SimulatedClock, loggi: int
) -> None:
    first = loggi_push([package(journey()[:2])])
    assert (await http.post("/v1/webhooks/carriers/loggi", **first)).status_code == 202
    await settled(app)
    # Loggi's next push carries only the latest status, no history: the stored events stay
    latest = package(
        status={
            "code": "4",
            "highLevelStatus": "Saiu para entrega",
            "description": "Saiu",
            "updatedTime": "2021-05-05T08:00:00Z",
        }
    )
    assert (await http.post("/v1/webhooks/carriers/loggi", **loggi_push([latest]))).status_code == 202
    await settled(app)
    assert await codes(sessions, CODE) == ["LOGGI-1", "LOGGI-2", "LOGGI-4"]
    assert (await shipment(sessions, CODE)).status == "out_for_delivery"
    clock.advance(timedelta(minutes=5))
    replay = await http.post("/v1/webhooks/carriers/loggi", **first)
    assert replay.status_code == 200 and replay.headers["push-replayed"] == "true"
    assert replay.json() == {"push_id": 1, "shipments": 1, "replayed": True, "refused": []}
    await settled(app)
    assert await count(sessions, CarrierPush) == 2
    assert await codes(sessions, CODE) == ["LOGGI-1", "LOGGI-2", "LOGGI-4"]
    assert (await shipment(sessions, CODE)).status == "out_for_delivery"  # the old news did not move it back


async def test_a_push_feeds_the_detector_in_the_same_pipeline(
    app: Any, http: httpx.AsyncClient, sessions: Sessions, loggi: int
) -> None:
    damaged = [item("1", "2021-05-03T12:00:00Z"), item("13", "2021-05-04T12:00:00Z", high="Avariado")]
    assert (await http.post("/v1/webhooks/carriers/loggi", **loggi_push([package(damaged)]))).status_code == 202
    await settled(app)
    stored = await shipment(sessions, CODE)
    async with sessions() as session:
        kinds = list(await session.scalars(select(Incident.kind).where(Incident.shipment_id == stored.id)))
    status_code = (await codes(sessions, CODE))[-1]
    assert status_code == "LOGGI-13"
    assert kinds, f"a push in status {stored.status} ({stored.status_reason}) raised no incident"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": basic_authorization("loja", "wrong")},
        {"Authorization": basic_authorization("other", "pw-1")},
        {"Authorization": "Bearer pw-1"},
        {"Authorization": "Basic !!!not-base64"},
    ],
    ids=["none", "bad-password", "bad-user", "bearer", "garbage"],
)
async def test_a_push_without_the_accounts_credentials_is_refused_before_it_is_read(
    app: Any, http: httpx.AsyncClient, sessions: Sessions, loggi: int, headers: dict[str, str]
) -> None:
    answer = await http.post("/v1/webhooks/carriers/loggi", content=b"{not json at all", headers=headers)
    assert answer.status_code == 401, answer.text
    assert answer.json()["detail"] == "the push does not carry a loggi account's push credentials"
    assert await count(sessions, CarrierPush) == 0


async def test_a_carrier_account_without_push_credentials_takes_no_push(
    http: httpx.AsyncClient, sessions: Sessions, vault: Vault, clock: SimulatedClock
) -> None:
    await account(sessions, vault, clock, "loggi", "no-push", client_id="a", client_secret="b", company_id="1")
    answer = await http.post("/v1/webhooks/carriers/loggi", **loggi_push([package()]))
    assert answer.status_code == 401
    assert answer.json()["detail"] == "the push does not carry a loggi account's push credentials"  # no more said


@pytest.mark.parametrize("name", ["correios", "jadlog", "nope", "x" * 300])
async def test_a_carrier_that_does_not_push_has_no_door(http: httpx.AsyncClient, name: str) -> None:
    answer = await http.post(f"/v1/webhooks/carriers/{name}", content=b"{}")
    assert answer.status_code == 404
    problem = answer.json()
    assert problem["errors"][0]["field"] == "carrier"
    assert "takes no pushes here" in problem["detail"] and "loggi" not in problem["detail"]
    assert len(problem["detail"]) < 200


async def test_melhor_envio_pushes_are_checked_by_their_hmac_in_base64_or_hex(
    app: Any, http: httpx.AsyncClient, sessions: Sessions, vault: Vault, clock: SimulatedClock
) -> None:
    account_id = await account(sessions, vault, clock, "melhorenvio", "loja-me", **ME)
    await ship(sessions, clock, "melhorenvio", account_id, ORDER.upper())
    posted = me_push("order.posted", posted_at="2026-11-01 09:15:00")
    tampered = {**posted, "content": posted["content"].replace(b"09:15", b"09:16")}
    assert (await http.post("/v1/webhooks/carriers/melhorenvio", **tampered)).status_code == 401
    wrong = me_push("order.posted", secret="other-secret", posted_at="2026-11-01 09:15:00")
    assert (await http.post("/v1/webhooks/carriers/melhorenvio", **wrong)).status_code == 401
    assert (await http.post("/v1/webhooks/carriers/melhorenvio", **posted)).status_code == 202
    delivered = json.dumps(
        {
            "event": "order.delivered",
            "data": {"id": ORDER, "posted_at": "2026-11-01 09:15:00", "delivered_at": "2026-11-03 15:00:00"},
        }
    ).encode()
    as_hex = hmac.new(ME_SECRET.encode(), delivered, hashlib.sha256).hexdigest()
    answer = await http.post("/v1/webhooks/carriers/melhorenvio", content=delivered, headers={"X-ME-Signature": as_hex})
    assert answer.status_code == 202, answer.text
    await settled(app)
    stored = await shipment(sessions, ORDER.upper())
    assert stored.status == "delivered"
    assert await codes(sessions, ORDER.upper()) == ["ME-posted", "ME-delivered"]


async def test_a_push_for_a_shipment_not_known_yet_is_parked_then_applied_when_the_erp_sends_it(
    app: Any, http: httpx.AsyncClient, sessions: Sessions, vault: Vault, clock: SimulatedClock
) -> None:
    account_id = await account(sessions, vault, clock, "loggi", "loja-loggi", **LOGGI)
    other = package(journey()[:2], trackingCode="SH0000000001LG")
    answer = await http.post("/v1/webhooks/carriers/loggi", **loggi_push([package(journey()[:3]), other]))
    assert answer.status_code == 202 and answer.json()["shipments"] == 2
    await settled(app)
    async with sessions() as session:
        parked = sorted(await session.scalars(select(ParkedPush.tracking_code)))
    assert parked == ["SH0000000001LG", CODE]
    await ship(sessions, clock, "loggi", account_id, CODE)  # the ERP sends one of them
    clock.advance(timedelta(minutes=1))
    report = await applier_of(app.state.runtime).apply()
    assert report.matched == 1
    assert await codes(sessions, CODE) == ["LOGGI-1", "LOGGI-2", "LOGGI-3"]
    assert (await shipment(sessions, CODE)).status == "in_transit"
    async with sessions() as session:
        assert list(await session.scalars(select(ParkedPush.tracking_code))) == ["SH0000000001LG"]


async def test_a_push_does_not_touch_another_accounts_shipment(
    app: Any, http: httpx.AsyncClient, sessions: Sessions, vault: Vault, clock: SimulatedClock, loggi: int
) -> None:
    creds = LOGGI | {"webhook_user": "outra", "webhook_password": "pw-2"}
    await account(sessions, vault, clock, "loggi", "outra-loja", **creds)
    answer = await http.post("/v1/webhooks/carriers/loggi", **loggi_push([package(journey())], "outra", "pw-2"))
    assert answer.status_code == 202
    await settled(app)
    assert await codes(sessions, CODE) == []  # the shipment is the first account's: parked for the second
    assert await count(sessions, ParkedPush) == 1


async def test_an_oversized_push_is_refused_and_nothing_is_stored(
    http: httpx.AsyncClient, sessions: Sessions, loggi: int
) -> None:
    huge = loggi_push([package(description="x" * MAX_BODY)])
    answer = await http.post("/v1/webhooks/carriers/loggi", **huge)
    assert answer.status_code == 413
    assert await count(sessions, CarrierPush) == 0


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        (b"{not json", 400, "expected a JSON document"),
        (b"[" * 1000 + b"]" * 1000, 400, "nested deeper than allowed"),
        (b'{"nothing": []}', 422, "packages"),
        (b'"just a string"', 422, "packages"),
    ],
    ids=["not-json", "deep", "no-packages", "string"],
)
async def test_a_malformed_push_is_a_clear_4xx_and_nothing_is_stored(
    http: httpx.AsyncClient, sessions: Sessions, loggi: int, body: bytes, status: int, says: str
) -> None:
    auth = {"Authorization": basic_authorization("loja", "pw-1")}
    answer = await http.post("/v1/webhooks/carriers/loggi", content=body, headers=auth)
    assert answer.status_code == status, answer.text
    assert says in answer.json()["detail"]
    assert await count(sessions, CarrierPush) == 0


async def test_a_push_stored_but_not_applied_is_applied_by_the_job(
    engine: AsyncEngine, sessions: Sessions, vault: Vault, clock: SimulatedClock, loggi: int
) -> None:
    """The door stores before it answers: a process that stops before applying loses nothing."""
    made = make_app(engine, clock)
    async with serve(engine, clock, made) as client:
        runtime = made.state.runtime
        applier = applier_of(runtime)
        applier.kick = lambda: None  # type: ignore[method-assign]  # the process stops before it applies
        assert (await client.post("/v1/webhooks/carriers/loggi", **loggi_push([package(journey())]))).status_code == 202
    assert await codes(sessions, CODE) == []
    report = await apply_pending(sessions, vault, now=clock.now(), rng=random.Random(1), detector=None)
    assert report.pushes == 1 and report.poll.events == 5
    assert await codes(sessions, CODE) == [f"LOGGI-{n}" for n in range(1, 6)]
    again = await apply_pending(sessions, vault, now=clock.now(), rng=random.Random(1), detector=None)
    assert again.pushes == 0


async def test_a_result_that_can_name_no_shipment_is_left_out_and_said(
    app: Any, http: httpx.AsyncClient, sessions: Sessions, loggi: int
) -> None:
    long_code = "SH" + "1" * 70 + "LG"
    answer = await http.post(
        "/v1/webhooks/carriers/loggi", **loggi_push([package(journey()), package(trackingCode=long_code)])
    )
    assert answer.status_code == 202, answer.text
    assert answer.json()["shipments"] == 1
    assert answer.json()["refused"] == ["tracking code of 74 characters; expected 1 to 64"]
    await settled(app)
    assert await codes(sessions, CODE) == [f"LOGGI-{n}" for n in range(1, 6)]
    assert await count(sessions, ParkedPush) == 0
    only_bad = await http.post("/v1/webhooks/carriers/loggi", **loggi_push([package(trackingCode=long_code)]))
    assert only_bad.status_code == 422 and only_bad.json()["errors"][0]["field"] == "tracking_code"


async def test_an_adapter_whose_signature_check_fails_refuses_the_push_without_a_500(
    http: httpx.AsyncClient, sessions: Sessions, loggi: int
) -> None:
    from dataclasses import replace

    from carriers.base.registry import get as get_carrier
    from carriers.base.registry import register, unregister

    def broken(headers: Any, body: bytes, credentials: Any) -> bool:
        raise RuntimeError("a bug in a third-party adapter")

    register(replace(get_carrier("loggi"), verify_push=broken))
    try:
        answer = await http.post("/v1/webhooks/carriers/loggi", **loggi_push([package(journey())]))
    finally:
        unregister("loggi")  # the installed Loggi again
    assert answer.status_code == 401
    assert await count(sessions, CarrierPush) == 0


async def test_accounts_sharing_one_app_secret_take_each_others_pushes(
    app: Any, http: httpx.AsyncClient, sessions: Sessions, vault: Vault, clock: SimulatedClock
) -> None:
    """One Melhor Envio app serves several accounts: its secret signs every account's pushes."""
    await account(sessions, vault, clock, "melhorenvio", "loja-a", **ME)
    second = await account(sessions, vault, clock, "melhorenvio", "loja-b", **(ME | {"token": "t2"}))
    await ship(sessions, clock, "melhorenvio", second, ORDER.upper())
    posted = me_push("order.posted", posted_at="2026-11-01 09:15:00")
    assert (await http.post("/v1/webhooks/carriers/melhorenvio", **posted)).status_code == 202
    await settled(app)
    assert await codes(sessions, ORDER.upper()) == ["ME-posted"]
    other = "b0234c5e-0a48-4e0d-abca-3b862b668452"  # pushed before the ERP sends it, then matched
    early = json.dumps({"event": "order.posted", "data": {"id": other, "posted_at": "2026-11-01 10:00:00"}}).encode()
    answer = await http.post(
        "/v1/webhooks/carriers/melhorenvio", content=early, headers={"X-ME-Signature": sign(early, ME_SECRET)}
    )
    assert answer.status_code == 202
    await settled(app)
    assert await count(sessions, ParkedPush) == 1
    await ship(sessions, clock, "melhorenvio", second, other.upper())
    assert (await applier_of(app.state.runtime).apply()).matched == 1
    assert await codes(sessions, other.upper()) == ["ME-posted"]
