"""The API app on the test database, an httpx client into it, and a signing ERP."""

import base64
import itertools
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from tests.support import correios_account
from tracker.apikeys import create_key
from tracker.clock import SimulatedClock
from tracker.config import Settings
from tracker.signatures import sign
from tracker.vault import Vault
from zelo.app import create_app

SECRET = b"erp-test-secret-0123456789"
WHSEC = "whsec_" + base64.b64encode(SECRET).decode()
_ids = itertools.count(1)


@dataclass
class Erp:
    """Signs and sends webhooks as the store's ERP would."""

    http: httpx.AsyncClient
    clock: SimulatedClock

    def signed(self, body: bytes, msg_id: str | None = None, key: bytes = SECRET) -> dict[str, str]:
        msg_id = msg_id or f"msg_{next(_ids)}"
        t = int(self.clock.now().timestamp())
        return {
            "webhook-id": msg_id,
            "webhook-timestamp": str(t),
            "webhook-signature": sign(key, msg_id, t, body),
            "content-type": "application/json",
        }

    async def push(self, shipments: list[Any], msg_id: str | None = None, **extra: Any) -> httpx.Response:
        body = json.dumps({"type": "shipment.upsert", "data": {"shipments": shipments}, **extra}).encode()
        return await self.http.post("/v1/webhooks/erp", content=body, headers=self.signed(body, msg_id))


@pytest.fixture
async def account_id(sessions: async_sessionmaker[AsyncSession], vault: Vault, clock: SimulatedClock) -> int:
    async with sessions() as session, session.begin():
        return await correios_account(session, vault, name="loja", now=clock.now())


def make_app(engine: AsyncEngine, clock: SimulatedClock) -> FastAPI:
    """The API app on the test database (not started)."""
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=engine.url.render_as_string(hide_password=False),
        erp_webhook_secrets=SecretStr(WHSEC),
        secret_key=SecretStr("test-secret"),
    )
    return create_app(settings, clock)


@asynccontextmanager
async def serve(
    engine: AsyncEngine, clock: SimulatedClock, app: FastAPI | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    """A running app (one API worker) on the test database, and a client for it."""
    app = app or make_app(engine, clock)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://zelo") as client,
    ):
        yield client


@pytest.fixture
async def http(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], clock: SimulatedClock
) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(engine, clock) as client:
        yield client


@pytest.fixture
def erp(http: httpx.AsyncClient, clock: SimulatedClock, account_id: int) -> Erp:
    return Erp(http, clock)


@pytest.fixture
async def keys(sessions: async_sessionmaker[AsyncSession], clock: SimulatedClock) -> dict[str, dict[str, str]]:
    """Authorization headers by role: reader (read), writer (read, write)."""
    out = {}
    async with sessions() as session, session.begin():
        for name, scopes in (("reader", ["read"]), ("writer", ["read", "write"])):
            key, _ = await create_key(session, name=name, scopes=scopes, now=clock.now())
            out[name] = {"Authorization": f"Bearer {key}"}
    return out
