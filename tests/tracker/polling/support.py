"""What the poll pipeline's tests share: a fake carrier account, shipments to poll, a poller on a simulated clock."""

import random
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from carriers.base.registry import register, unregister
from tests.support import RecordingSleep
from tests.tracker.fake_carrier import FakeCarrier
from tracker.clock import SimulatedClock
from tracker.models import Shipment, TrackingEvent
from tracker.polling.accounts import add_account
from tracker.polling.poller import Poller
from tracker.shipments.service import NewShipment
from tracker.shipments.service import register as register_shipments
from tracker.vault import Vault

Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
def carrier() -> AsyncIterator[FakeCarrier]:
    fake = FakeCarrier()
    register(fake.spec())
    yield fake
    unregister("fake")


@pytest.fixture
async def account_id(sessions: Sessions, vault: Vault, clock: SimulatedClock, carrier: FakeCarrier) -> int:
    async with sessions() as session, session.begin():
        account = await add_account(
            session, vault, carrier="fake", name="fake-1", credentials={"key": "k"}, base_url=None, now=clock.now()
        )
        return account.id


async def add(sessions: Sessions, clock: SimulatedClock, account_id: int, *codes: str) -> None:
    async with sessions() as session, session.begin():
        await register_shipments(session, [NewShipment("fake", account_id, c) for c in codes], clock.now())


def make_poller(sessions: Sessions, clock: SimulatedClock, vault: Vault, **kw: object) -> Poller:
    return Poller(sessions, httpx.AsyncClient(), clock, vault, sleep=RecordingSleep(), rng=random.Random(1), **kw)  # type: ignore[arg-type]


async def shipment(sessions: Sessions, code: str) -> Shipment:
    async with sessions() as session:
        return (await session.scalars(select(Shipment).where(Shipment.tracking_code == code))).one()


async def stored_events(sessions: Sessions, code: str) -> list[tuple[str, bool]]:
    async with sessions() as session:
        rows = await session.execute(
            select(TrackingEvent.code, TrackingEvent.voided)
            .join(Shipment, Shipment.id == TrackingEvent.shipment_id)
            .where(Shipment.tracking_code == code)
            .order_by(TrackingEvent.occurred_at)
        )
        return [(c, v) for c, v in rows]
