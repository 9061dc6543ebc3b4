"""The push tests' app (Zelo's API on the test database), accounts, shipments and pushes signed as each carrier
signs them."""

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from carriers.loggi.push import basic_authorization
from carriers.melhorenvio.push import sign
from tests.carriers.loggi.samples import CODE
from tests.tracker.ingest.conftest import make_app, serve
from tracker.clock import SimulatedClock
from tracker.models import Shipment, TrackingEvent
from tracker.polling.accounts import add_account
from tracker.pushes import applier_of
from tracker.shipments.service import NewShipment, register
from tracker.vault import Vault

Sessions = async_sessionmaker[AsyncSession]
LOGGI = {
    "client_id": "ci",
    "client_secret": "cs",
    "company_id": "42",
    "webhook_user": "loja",
    "webhook_password": "pw-1",
}
ME_SECRET = "app-secret-123"
ME = {"token": "t", "contact_email": "ops@loja.test", "app_secret": ME_SECRET}
ORDER = "a0234c5e-0a48-4e0d-abca-3b862b668451"


@pytest.fixture
async def app(engine: AsyncEngine, sessions: Sessions, clock: SimulatedClock) -> AsyncIterator[Any]:
    made = make_app(engine, clock)
    async with serve(engine, clock, made) as client:
        made.state.client = client
        yield made


@pytest.fixture
def http(app: Any) -> httpx.AsyncClient:
    client: httpx.AsyncClient = app.state.client
    return client


async def settled(app: Any) -> None:
    """Wait for what the door kicked to be applied."""
    await applier_of(app.state.runtime).settled()


async def account(
    sessions: Sessions, vault: Vault, clock: SimulatedClock, carrier: str, name: str, **creds: str
) -> int:
    async with sessions() as session, session.begin():
        made = await add_account(
            session, vault, carrier=carrier, name=name, credentials=creds, base_url=None, now=clock.now()
        )
        return made.id


async def ship(sessions: Sessions, clock: SimulatedClock, carrier: str, account_id: int, code: str) -> None:
    async with sessions() as session, session.begin():
        await register(session, [NewShipment(carrier, account_id, code)], clock.now())


def loggi_push(packages: list[Any], user: str = "loja", password: str = "pw-1") -> dict[str, Any]:
    body = json.dumps({"packages": packages}).encode()
    return {"content": body, "headers": {"Authorization": basic_authorization(user, password)}}


def me_push(event: str, secret: str = ME_SECRET, **data: Any) -> dict[str, Any]:
    body = json.dumps({"event": event, "data": {"id": ORDER, "protocol": "ORD-1", **data}}).encode()
    return {"content": body, "headers": {"X-ME-Signature": sign(body, secret)}}


async def shipment(sessions: Sessions, code: str) -> Shipment:
    async with sessions() as session:
        return (await session.scalars(select(Shipment).where(Shipment.tracking_code == code))).one()


async def codes(sessions: Sessions, code: str) -> list[str]:
    async with sessions() as session:
        query = (
            select(TrackingEvent.code)
            .join(Shipment, Shipment.id == TrackingEvent.shipment_id)
            .where(Shipment.tracking_code == code)
            .order_by(TrackingEvent.occurred_at)
        )
        return list(await session.scalars(query))


async def count(sessions: Sessions, model: Any) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.fixture
async def loggi(sessions: Sessions, vault: Vault, clock: SimulatedClock) -> int:
    account_id = await account(sessions, vault, clock, "loggi", "loja-loggi", **LOGGI)
    await ship(sessions, clock, "loggi", account_id, CODE)
    return account_id
