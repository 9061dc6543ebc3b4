"""Hand-built shipments, events, incidents, claims and messages whose rollup is known (see ``build``)."""

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from carriers.correios.s10 import make_code
from claims.models import Claim
from notifier.models import Checkin, Notification, Rating
from tests.support import correios_account
from tests.tracker.ingest.conftest import http, keys  # noqa: F401 (the API's fixtures)
from tracker.clock import SimulatedClock
from tracker.detector.models import Incident
from tracker.metrics.rollup import roll_changed
from tracker.models import CarrierAccount, Shipment, TrackingEvent
from tracker.vault import Vault


def at(day: int, hour: int = 15, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


@dataclass
class World:
    sessions: async_sessionmaker[AsyncSession]
    clock: SimulatedClock
    account: int
    n: int = 0

    async def shipment(self, shipped: datetime, events: list[tuple[datetime, str]] = (), **columns: Any) -> int:  # type: ignore[assignment]
        self.n += 1
        async with self.sessions() as session, session.begin():
            s = Shipment(
                carrier="correios",
                carrier_account_id=self.account,
                tracking_code=make_code("SS", self.n),
                shipped_at=shipped,
                created_at=shipped,
                updated_at=self.clock.now(),
                **columns,
            )
            session.add(s)
            await session.flush()
            for occurred, status in events:
                session.add(
                    TrackingEvent(shipment_id=s.id, occurred_at=occurred, code=status[:8], status=status,
                                  description=status, raw={}, recorded_at=self.clock.now())
                )  # fmt: skip
            return s.id

    async def incident(self, shipment: int, kind: str, opened: datetime, resolved: datetime | None = None) -> None:
        async with self.sessions() as session, session.begin():
            session.add(
                Incident(shipment_id=shipment, kind=kind, status="resolved" if resolved else "open", severity="medium",
                         owner="ops", next_action="-", trigger="t", evidence={}, opened_at=opened,
                         updated_at=self.clock.now(), triage_due_at=opened, resolved_at=resolved, reopened_count=0)
            )  # fmt: skip

    async def claim(self, shipment: int, status: str, claimed: str, paid: str | None = None) -> None:
        async with self.sessions() as session, session.begin():
            session.add(
                Claim(shipment_id=shipment, claim_type="indemnity", kind="lost", carrier="correios", status=status,
                      motivo=1, manifestation="R", filer="correios", filing="auto", opens_at=at(1), closes_at=at(30),
                      missing=[], amount_claimed=Decimal(claimed), amount_rule="-",
                      amount_paid=None if paid is None else Decimal(paid), filed_at=at(10), attempts=1,
                      reactivations=0, created_at=at(10), updated_at=self.clock.now())
            )  # fmt: skip

    async def checkin(self, shipment: int, rating: int | None) -> None:
        async with self.sessions() as session, session.begin():
            session.add(Checkin(shipment_id=shipment, answer="accepted", answered_at=self.clock.now()))
            if rating is not None:
                session.add(Rating(shipment_id=shipment, rating=rating, rated_at=self.clock.now()))

    async def message(self, shipment: int, trigger: str, sent: bool = True) -> None:
        async with self.sessions() as session, session.begin():
            session.add(
                Notification(dedupe_key=f"{shipment}:{trigger}", shipment_id=shipment, trigger=trigger,
                             channel="email", status="sent" if sent else "queued", facts={}, created_at=at(5),
                             due_at=at(5), attempts=1, sent_at=at(5) if sent else None)
            )  # fmt: skip


@pytest.fixture
async def world(sessions: async_sessionmaker[AsyncSession], vault: Vault, clock: SimulatedClock) -> World:
    async with sessions() as session, session.begin():
        account = await correios_account(session, vault, name="loja", now=clock.now())
        (await session.get_one(CarrierAccount, account)).origin_state = "SP"
    return World(sessions, clock, account)


async def build(w: World) -> dict[str, int]:
    """Day 2026-11-02 (Brasília): three SEDEX parcels to RJ, one of them leaving from MG; day 11-03: one to SP.

    - a: attempted and delivered 11-04 (promise 11-05, deadline 11-04): on time both ways, first attempt, 2 days;
      rated 5 at the check-in (b: 2; d answered without a rating);
    - b: failed 11-06, delivered 11-07: a day late for the store, two for the carrier, 4 days; its failed-attempt
      incident resolved in 24 h, a paid claim (R$ 50 claimed, 30 paid), two messages sent (one ops alert, not counted);
    - c (from MG): no attempt yet, a delayed incident open; a denied claim (R$ 20);
    - d (11-03, category moda): delivered 11-13 against a promise of 11-04: 9 days late; 7 days in transit; its
      stalled incident resolved in 2.2 h.
    """
    sedex: dict[str, Any] = {"service": "SEDEX", "destination_state": "RJ"}
    a = await w.shipment(
        at(2, 12), [(at(2, 18), "posted"), (at(4), "delivered")], **sedex, promised_delivery_date=date(2026, 11, 5),
        carrier_expected_delivery=date(2026, 11, 4), delivered_at=at(4), transit_business_days=2,
    )  # fmt: skip
    b = await w.shipment(
        at(2, 13), [(at(3), "posted"), (at(6), "delivery_failed"), (at(7), "delivered")], **sedex,
        promised_delivery_date=date(2026, 11, 5), carrier_expected_delivery=date(2026, 11, 4), delivered_at=at(7),
        transit_business_days=4,
    )  # fmt: skip
    c = await w.shipment(at(2, 14), [(at(3), "posted")], **sedex, origin_state="MG",
                         promised_delivery_date=date(2026, 11, 5))  # fmt: skip
    d = await w.shipment(
        at(3, 12), [(at(13), "delivered")], destination_state="SP", category="moda",
        promised_delivery_date=date(2026, 11, 4), delivered_at=at(13), transit_business_days=7,
    )  # fmt: skip
    await w.incident(b, "failed_attempt", at(6), at(7))
    await w.claim(b, "paid", "50.00", "30.00")
    await w.message(b, "delivery_failed")
    await w.message(b, "ops_incident")
    await w.message(a, "posted", sent=False)
    await w.incident(c, "delayed", at(6))
    await w.claim(c, "denied", "20.00")
    await w.checkin(a, 5)
    await w.checkin(b, 2)
    await w.checkin(d, None)  # answered without a rating
    await w.incident(d, "stalled", at(8, 10), at(8, 12).replace(minute=12))
    return {"a": a, "b": b, "c": c, "d": d}


@pytest.fixture
async def rolled(world: World) -> World:
    """``build``'s world, rolled up."""
    await build(world)
    async with world.sessions() as session, session.begin():
        await roll_changed(session, world.clock.now())
    return world
