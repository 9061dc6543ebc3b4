"""Shared fixtures: real databases (SQLite file and PostgreSQL on loopback) built by the migrations."""

import logging
import os
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from tests.support import RecordingSleep
from tracker import logs
from tracker.clock import SimulatedClock
from tracker.db import make_engine, make_sessionmaker
from tracker.migrate import upgrade
from tracker.vault import Vault

PG_SERVER = os.environ.get("ZELO_TEST_PG", "postgresql+asyncpg://postgres@127.0.0.1:5432")
PG_DATABASE = f"zelo_test_{os.getpid()}"
TABLES = (
    "dashboard_sessions",
    "dashboard_users",
    "metrics_daily",
    "metrics_incidents",
    "metrics_histograms",
    "metrics_state",
    "claim_filings",
    "claim_changes",
    "claims",
    "notification_attempts",
    "notifications",
    "notification_optouts",
    "delivery_ratings",
    "delivery_checkins",
    "incident_changes",
    "incidents",
    "shipment_revisions",
    "idempotency_keys",
    "api_keys",
    "webhook_receipts",
    "parked_pushes",
    "carrier_pushes",
    "tracking_events",
    "shipments",
    "carrier_accounts",
)


@pytest.fixture(autouse=True)
def _logging_restored(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A command configures the process's logs (``zelo demo`` at error level): loggers do not keep that
    configuration past the test (no caching on first use), and the tests after it see the logs as they were."""
    real = logs.configure
    monkeypatch.setattr(logs, "configure", lambda level="info", json=False: real(level, json, cache=False))
    saved, root = structlog.get_config(), logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    structlog.configure(**saved)
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture(autouse=True)
def _clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """No proxy or Zelo setting from the developer's shell leaks into a test."""
    for key in list(os.environ):
        if (key.startswith("ZELO_") and key != "ZELO_TEST_PG") or key.lower().endswith("_proxy"):
            monkeypatch.delenv(key, raising=False)


async def _pg_admin(sql: str) -> None:
    engine = make_engine(f"{PG_SERVER}/test", isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(sql))
    await engine.dispose()


@pytest.fixture(scope="session")
async def pg_engine() -> AsyncIterator[AsyncEngine]:
    await _pg_admin(f"DROP DATABASE IF EXISTS {PG_DATABASE}")
    await _pg_admin(f"CREATE DATABASE {PG_DATABASE}")
    engine = make_engine(f"{PG_SERVER}/{PG_DATABASE}")
    await upgrade(engine)
    yield engine
    await engine.dispose()
    await _pg_admin(f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)")


@pytest.fixture(scope="session")
async def sqlite_engine(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[AsyncEngine]:
    path: Path = tmp_path_factory.mktemp("db") / "zelo.db"
    engine = make_engine(f"sqlite+aiosqlite:///{path}")
    await upgrade(engine)
    yield engine
    await engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest) -> AsyncEngine:
    """Each test using it runs twice: on SQLite (embedded) and on PostgreSQL (scaled)."""
    engine: AsyncEngine = request.getfixturevalue("pg_engine" if request.param == "postgres" else "sqlite_engine")
    return engine


async def emptied(engine: AsyncEngine) -> AsyncEngine:
    """``engine``, every table emptied (PostgreSQL's ids restarted)."""
    async with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            await conn.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
        else:
            for table in TABLES:
                await conn.execute(text(f"DELETE FROM {table}"))
    return engine


@pytest.fixture
async def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions on ``engine``, whose tables start empty."""
    return make_sessionmaker(await emptied(engine))


@pytest.fixture
async def pg(pg_engine: AsyncEngine) -> AsyncEngine:
    """The PostgreSQL test database alone (scaled mode), its tables empty."""
    return await emptied(pg_engine)


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(datetime(2026, 11, 2, 11, 0, tzinfo=UTC))  # a Monday, 08:00 in Brasília


@pytest.fixture
def vault() -> Vault:
    return Vault("test-secret")


@pytest.fixture
def sleep() -> RecordingSleep:
    return RecordingSleep()
