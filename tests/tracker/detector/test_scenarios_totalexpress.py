"""Every sandbox scenario played by Total Express parcels, end to end through the Total Express adapter, the poll
pipeline and the sweep, raises the incidents its scenario declares. One difference is by design: Total Express
gives no delivery forecast (Correios' ``dtPrevista``), so the 40-day customs story is judged against the usual
transit time and is also ``delayed``."""

import random
from datetime import timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from carriers.sandbox import Parcel, SandboxState, create_app, scenario_names
from carriers.sandbox.scenarios import load_scenarios
from tests.support import RecordingSleep
from tracker.clock import SimulatedClock
from tracker.detector.models import Incident
from tracker.detector.service import Detector
from tracker.detector.sweep import sweep
from tracker.models import Shipment
from tracker.polling.accounts import add_account
from tracker.polling.poller import Poller
from tracker.shipments.service import NewShipment, register
from tracker.vault import Vault

Sessions = async_sessionmaker[AsyncSession]


def awb(i: int) -> str:
    return f"TE{i:010d}"


async def test_every_scenario_raises_its_incidents(sessions: Sessions, clock: SimulatedClock, vault: Vault) -> None:
    sandbox = SandboxState(clock=clock)
    start = clock.now()
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(sandbox)))
    names = [n for n in scenario_names() if n != "invalid"]
    async with sessions() as session, session.begin():
        account = await add_account(
            session,
            vault,
            carrier="totalexpress",
            name="te",
            credentials={"user": "loja", "password": "s3cret"},
            base_url="http://sandbox",
            now=start,
        )
        parcels = [Parcel(awb(i), name, start + timedelta(hours=i), "totalexpress") for i, name in enumerate(names)]
        sandbox.register(parcels)
        await register(session, [NewShipment("totalexpress", account.id, p.code) for p in parcels], start)
    detector = Detector()
    poller = Poller(sessions, http, clock, vault, sleep=RecordingSleep(), rng=random.Random(2), detector=detector)
    while clock.now() - start < timedelta(days=21):
        await poller.run_once()
        await sweep(sessions, detector, clock.now())
        clock.advance(timedelta(hours=1))
    async with sessions() as session:
        rows = (
            await session.execute(
                select(Shipment.tracking_code, Incident.kind).join(Incident, Incident.shipment_id == Shipment.id)
            )
        ).all()
    found: dict[str, set[str]] = {name: set() for name in names}
    for code, kind in rows:
        found[names[int(code[2:])]].add(kind)
    wanted = {name: set(load_scenarios()[name].incidents) for name in names}
    wanted["customs_hold"].add("delayed")
    assert found == wanted
