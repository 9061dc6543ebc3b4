"""Every sandbox scenario played through every carrier, end to end: the sandbox speaks the carrier's API (and, for
the carriers that push, sends its signed webhooks to Zelo's push door), the poll pipeline or the door stores what it
says, the sweep runs, and each parcel raises exactly the incidents its scenario should as that carrier tells it
(``carriers/sandbox/carrier_incidents.toml`` says where a carrier's data shows a scenario differently)."""

import random
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from carriers.base.registry import get as get_carrier
from carriers.sandbox import Parcel, SandboxState, create_app, scenario_names
from carriers.sandbox.accounts import CARRIERS, credentials, expected_incidents, promised_date, tracking_code
from carriers.sandbox.pushes import Pusher
from carriers.sandbox.voices import speakers
from tests.support import RecordingSleep
from tests.tracker.ingest.conftest import make_app, serve
from tracker.clock import SimulatedClock
from tracker.detector.models import Incident
from tracker.detector.service import Detector
from tracker.detector.sweep import sweep
from tracker.models import Shipment, TrackingEvent
from tracker.polling.accounts import add_account
from tracker.polling.poller import Poller
from tracker.pushes import applier_of
from tracker.pushes.models import CarrierPush
from tracker.shipments.service import NewShipment, register
from tracker.vault import Vault

Sessions = async_sessionmaker[AsyncSession]
DAYS = 21


@dataclass
class Door:
    """Zelo's API on the test database, where the sandbox pushes."""

    app: FastAPI
    http: httpx.AsyncClient

    async def settled(self) -> None:
        await applier_of(self.app.state.runtime).settled()


@pytest.fixture
async def door(engine: AsyncEngine, sessions: Sessions, clock: SimulatedClock) -> AsyncIterator[Door]:
    app = make_app(engine, clock)
    async with serve(engine, clock, app) as client:
        yield Door(app, client)


async def play(
    sessions: Sessions,
    clock: SimulatedClock,
    vault: Vault,
    carrier: str,
    door: Door | None = None,
) -> tuple[dict[str, set[str]], int]:
    """Each scenario's incident kinds after the run, and how many events the polls stored."""
    sandbox = SandboxState(clock=clock)
    start = clock.now()
    carrier_http = httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(sandbox)))
    names = scenario_names()
    creds = credentials(carrier, "loja")
    async with sessions() as session, session.begin():
        account = await add_account(
            session, vault, carrier=carrier, name="loja", credentials=creds, base_url="http://sandbox", now=start
        )
        parcels = [
            Parcel(tracking_code(carrier, i), name, start + timedelta(hours=i), carrier) for i, name in enumerate(names)
        ]
        sandbox.register(parcels)
        promised = [NewShipment(carrier, account.id, p.code, promised_delivery_date=promised_date(p)) for p in parcels]
        await register(session, promised, start)
    detector = Detector()
    poller = Poller(
        sessions, carrier_http, clock, vault, sleep=RecordingSleep(), rng=random.Random(2), detector=detector
    )
    pusher = None
    if door is not None:
        pusher = Pusher(sandbox, speakers())
        push_creds = {f: creds[f] for f in get_carrier(carrier).push_fields}
        pusher.target(carrier, f"http://zelo/v1/webhooks/carriers/{carrier}", push_creds)
    polled_events = 0
    while clock.now() - start < timedelta(days=DAYS):
        polled_events += (await poller.run_once()).events
        if pusher is not None and door is not None:
            flushed = await pusher.flush(door.http)
            assert flushed["refused"] == 0, flushed
            await door.settled()
        await sweep(sessions, detector, clock.now())
        clock.advance(timedelta(hours=1))
    async with sessions() as session:
        rows = (
            await session.execute(
                select(Shipment.tracking_code, Incident.kind).join(Incident, Incident.shipment_id == Shipment.id)
            )
        ).all()
    scenario_of = {p.code: p.scenario for p in parcels}
    found: dict[str, set[str]] = {name: set() for name in names}
    for code, kind in rows:
        found[scenario_of[code]].add(kind)
    return found, polled_events


def wanted(carrier: str) -> dict[str, set[str]]:
    return {name: set(expected_incidents(carrier, name)) for name in scenario_names()}


@pytest.mark.parametrize("carrier", CARRIERS)
async def test_every_scenario_polled_through_the_carrier_raises_its_incidents(
    sessions: Sessions, clock: SimulatedClock, vault: Vault, carrier: str
) -> None:
    found, _ = await play(sessions, clock, vault, carrier)
    assert found == wanted(carrier)


@pytest.mark.parametrize("carrier", [c for c in CARRIERS if get_carrier(c).pushes])
async def test_every_scenario_pushed_by_the_carrier_raises_its_incidents(
    sessions: Sessions, clock: SimulatedClock, vault: Vault, carrier: str, door: Door
) -> None:
    found, polled_events = await play(sessions, clock, vault, carrier, door)
    assert found == wanted(carrier)
    async with sessions() as session:
        pushes = await session.scalar(select(func.count()).select_from(CarrierPush))
        events = await session.scalar(select(func.count()).select_from(TrackingEvent))
        polled = await session.scalar(select(func.max(Shipment.last_polled_at)))
    assert pushes and pushes > len(scenario_names())
    assert events and events - polled_events > events / 2, (polled_events, events)  # most news came by push ...
    assert polled is not None  # ... and the shipments were still polled now and then
