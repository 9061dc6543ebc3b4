"""The API fixtures of the ingest tests (an app on the test database, API keys) serve the incidents API too;
``seed`` inserts shipments and incidents as the detector would have opened them."""

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from carriers.correios.s10 import make_code
from tests.support import correios_account
from tests.tracker.ingest.conftest import http, keys  # noqa: F401
from tracker.clock import SimulatedClock
from tracker.detector.models import IncidentChange, incidents_table
from tracker.models import Shipment
from tracker.shipments.service import NewShipment, register
from tracker.vault import Vault


@dataclass
class Seed:
    sessions: async_sessionmaker[AsyncSession]
    vault: Vault
    now: Callable[[], datetime]  # the time rows are written at
    account_id: int | None = None
    _serials: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    async def shipment(self, carrier: str = "correios") -> int:
        """A registered shipment (on the ``main`` Correios account, whatever ``carrier`` it names)."""
        now = self.now()
        n = next(self._serials)
        async with self.sessions() as session, session.begin():
            if self.account_id is None:
                self.account_id = await correios_account(session, self.vault, name="main", now=now)
            code = make_code("SS", n)
            await register(session, [NewShipment(carrier, self.account_id, code, external_id=f"order-{n}")], now)
            return (await session.execute(select(Shipment.id).where(Shipment.tracking_code == code))).scalar_one()

    async def incident(self, shipment_id: int | None = None, kind: str = "stalled", **fields: Any) -> int:
        """An incident opened now (due for triage in 10 hours), on a new shipment unless one is given."""
        shipment_id = shipment_id or await self.shipment()
        now = self.now()
        row = {
            "shipment_id": shipment_id,
            "kind": kind,
            "status": "open",
            "severity": "medium",
            "owner": "ops",
            "next_action": "Open a carrier information request",
            "trigger": f"{kind}:test",
            "evidence": {"silent_business_days": 3},
            "opened_at": now,
            "updated_at": now,
            "triage_due_at": now + timedelta(hours=10),
            "reopened_count": 0,
        } | fields
        async with self.sessions() as session, session.begin():
            incident_id: int = (
                await session.execute(insert(incidents_table).returning(incidents_table.c.id), row)
            ).scalar_one()
            session.add(
                IncidentChange(incident_id=incident_id, at=now, actor="detector", action="opened", to_status="open")
            )
        return incident_id


@pytest.fixture
def seed(sessions: async_sessionmaker[AsyncSession], vault: Vault, clock: SimulatedClock) -> Seed:
    return Seed(sessions, vault, clock.now)
