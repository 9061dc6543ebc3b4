"""End to end: the real Correios adapter polls the sandbox carrier over HTTP, on SQLite and PostgreSQL.

Every sandbox scenario, played over three simulated weeks, ends in its expected status with its
expected reasons, and a carrier outage in the middle delays tracking without losing anything.
"""

import random
from datetime import timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from carriers.correios.s10 import make_code
from carriers.sandbox import Parcel, SandboxState, create_app, scenario_names
from tests.support import RecordingSleep, correios_account
from tracker.clock import SimulatedClock
from tracker.detector.service import Detector
from tracker.detector.sweep import sweep
from tracker.models import Shipment, TrackingEvent
from tracker.polling.poller import Poller
from tracker.polling.report import PollReport
from tracker.shipments.service import NewShipment, register
from tracker.vault import Vault

Sessions = async_sessionmaker[AsyncSession]
EXPECTED = {  # scenario: (final status, reasons seen on live events, polling stopped because)
    "on_time": ("delivered", set(), "final"),
    "late": ("delivered", set(), "final"),
    "lost": ("lost", {"carrier_lost"}, None),
    "stolen": ("lost", {"carrier_stolen"}, None),
    "damaged": ("delivered", {"carrier_damaged"}, "final"),
    "failed_attempts": ("delivered", {"consignee_absent"}, "final"),
    "pickup_returned": ("returned", {"consignee_absent"}, "final"),
    "customs_hold": ("held", {"customs_inspection", "customs_tax_due"}, None),
    "address_problem": ("returned", {"address_problem"}, "final"),
    "refused": ("returned", {"consignee_refused"}, "final"),
    "reversal": ("delivered", set(), "final"),
    "unknown_code": ("delivered", set(), "final"),
    "not_found": ("pending", set(), None),
    "invalid": ("pending", set(), "invalid_code"),
}


async def play(
    sessions: Sessions, clock: SimulatedClock, vault: Vault, sandbox: SandboxState, detector: Detector | None = None
) -> PollReport:
    """One parcel per scenario, polled every simulated hour for three weeks; with a ``detector``, detection
    runs in the poll pipeline and its time-based sweep every hour too."""
    start = clock.now()
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(sandbox)))
    async with sessions() as session, session.begin():
        account_id = await correios_account(session, vault, name="sandbox", base_url="http://sandbox", now=start)
        parcels = [
            Parcel(make_code("SS", i), name, start + timedelta(hours=i)) for i, name in enumerate(scenario_names())
        ]
        sandbox.register(parcels)
        await register(session, [NewShipment("correios", account_id, p.code) for p in parcels], start)
    poller = Poller(sessions, http, clock, vault, sleep=RecordingSleep(), rng=random.Random(2), detector=detector)
    total = PollReport()
    while clock.now() - start < timedelta(days=21):
        total.merge(await poller.run_once())
        if detector is not None:
            await sweep(sessions, detector, clock.now())
        clock.advance(timedelta(hours=1))
    return total


async def final_state(sessions: Sessions) -> dict[str, tuple[str, set[str], str | None]]:
    scenario_of = {make_code("SS", i): name for i, name in enumerate(scenario_names())}
    async with sessions() as session:
        shipments = (await session.scalars(select(Shipment))).all()
        reasons = (
            await session.execute(
                select(TrackingEvent.shipment_id, TrackingEvent.reason).where(
                    TrackingEvent.voided.is_(False), TrackingEvent.reason.is_not(None)
                )
            )
        ).all()
    seen: dict[int, set[str]] = {s.id: set() for s in shipments}
    for shipment_id, reason in reasons:
        seen[shipment_id].add(reason)
    return {scenario_of[s.tracking_code]: (s.status, seen[s.id], s.poll_stopped) for s in shipments}


async def test_every_scenario_ends_as_expected(sessions: Sessions, clock: SimulatedClock, vault: Vault) -> None:
    sandbox = SandboxState(clock=clock)
    report = await play(sessions, clock, vault, sandbox)
    assert await final_state(sessions) == EXPECTED
    assert report.failed == 0
    assert report.unknown_codes == {"BDE-99": 1}
    async with sessions() as session:
        reversal = (await session.scalars(select(Shipment).where(Shipment.tracking_code == make_code("SS", 10)))).one()
        codes = (
            await session.execute(
                select(TrackingEvent.code, TrackingEvent.voided)
                .where(TrackingEvent.shipment_id == reversal.id)
                .order_by(TrackingEvent.occurred_at)
            )
        ).all()
    assert scenario_names()[10] == "reversal"
    assert [tuple(c) for c in codes if c.voided] == [("BDE-01", True), ("EST-01", True)]
    assert ("BDE-01", False) in [tuple(c) for c in codes]


async def test_a_carrier_outage_delays_tracking_but_loses_nothing(
    sessions: Sessions, clock: SimulatedClock, vault: Vault
) -> None:
    sandbox = SandboxState(clock=clock)
    sandbox.faults.outages.append((clock.now() + timedelta(days=2), clock.now() + timedelta(days=4)))
    report = await play(sessions, clock, vault, sandbox)
    assert report.failed > 0
    assert report.errors.keys() == {"carrier_unavailable"}
    assert await final_state(sessions) == EXPECTED


def test_expected_table_covers_every_scenario() -> None:
    assert set(EXPECTED) == set(scenario_names())
