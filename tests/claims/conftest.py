"""A parcel to claim on: a registered shipment whose facts a test sets, and the detector's signals about it."""

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from carriers.base import Status
from carriers.correios.s10 import make_code
from claims.models import Claim
from tests.support import correios_account
from tracker.clock import SimulatedClock
from tracker.detector import incidents_table
from tracker.models import Shipment, TrackingEvent
from tracker.shipments.service import NewShipment, register
from tracker.signals import Raised
from tracker.vault import Vault
from tracker.vocabulary import Kind, Severity


@dataclass
class Parcels:
    sessions: async_sessionmaker[AsyncSession]
    vault: Vault
    now: Callable[[], datetime]
    account_id: int | None = None
    serials: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    async def shipment(self, **facts: Any) -> int:
        """A Correios PAC shipment with a name, postage and declared value, and the given facts."""
        n = next(self.serials)
        code = make_code("CL", n)
        async with self.sessions() as session, session.begin():
            if self.account_id is None:
                self.account_id = await correios_account(session, self.vault, name="main", now=self.now())
            await register(session, [NewShipment("correios", self.account_id, code, external_id=f"o-{n}")], self.now())
            shipment_id = (
                await session.execute(select(Shipment.id).where(Shipment.tracking_code == code))
            ).scalar_one()
            values = {
                "service": "PAC",
                "customer_name": "Maria Silva",
                "shipping_cost": Decimal("30.00"),
                "declared_value": Decimal("200.00"),
                "destination_state": "SP",
            } | facts
            await session.execute(update(Shipment).where(Shipment.id == shipment_id).values(**values))
        return shipment_id

    async def event(self, shipment_id: int, status: Status, at: datetime) -> None:
        async with self.sessions() as session, session.begin():
            session.add(
                TrackingEvent(
                    shipment_id=shipment_id, occurred_at=at, code="BDE/01", status=status.value,
                    description=status.value, raw={}, recorded_at=at,
                )
            )  # fmt: skip

    async def raised(self, shipment_id: int, kind: Kind, action: str = "opened") -> Raised:
        """An incident as the detector opened it, and its signal."""
        now = self.now()
        row = {
            "shipment_id": shipment_id, "kind": kind.value, "status": "open", "severity": "high", "owner": "ops",
            "next_action": "-", "trigger": "test", "evidence": {}, "opened_at": now, "updated_at": now,
            "triage_due_at": now, "reopened_count": 0,
        }  # fmt: skip
        async with self.sessions() as session, session.begin():
            incident_id = (
                await session.execute(insert(incidents_table).returning(incidents_table.c.id), row)
            ).scalar_one()
        return Raised(incident_id, shipment_id, kind, action, Severity.HIGH, {}, "test")

    async def claims(self, shipment_id: int) -> list[Claim]:
        async with self.sessions() as session:
            return list(await session.scalars(select(Claim).where(Claim.shipment_id == shipment_id).order_by(Claim.id)))


@pytest.fixture
def parcels(sessions: async_sessionmaker[AsyncSession], vault: Vault, clock: SimulatedClock) -> Parcels:
    return Parcels(sessions, vault, clock.now)
