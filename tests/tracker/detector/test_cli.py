"""``zelo incidents list`` and ``zelo detect --once`` on a SQLite file database, at the real time."""

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from typer.testing import CliRunner

from carriers.correios.s10 import make_code
from tests.tracker.detector.conftest import Seed
from tracker.config import get_settings
from tracker.db import make_engine, make_sessionmaker
from tracker.models import CarrierAccount, Shipment
from tracker.vault import Vault
from zelo.cli import app

Sessions = async_sessionmaker[AsyncSession]
runner = CliRunner()


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite+aiosqlite:///{tmp_path}/cli.db"
    monkeypatch.setenv("ZELO_DATABASE_URL", url)
    monkeypatch.setenv("COLUMNS", "200")  # wide enough for every column of the table
    get_settings.cache_clear()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    yield url
    get_settings.cache_clear()


def on(url: str, work: Callable[[Sessions], Awaitable[None]]) -> None:
    async def go() -> None:
        engine = make_engine(url)
        try:
            await work(make_sessionmaker(engine))
        finally:
            await engine.dispose()

    asyncio.run(go())


def listed(*options: str) -> dict[str, list[str]]:
    """The table's rows (their cells after the id) by tracking code."""
    result = runner.invoke(app, ["incidents", "list", *options])
    assert result.exit_code == 0, result.output
    rows = [[cell.strip() for cell in line.split("│")[2:-1]] for line in result.output.splitlines() if "│" in line]
    return {row[4]: row for row in rows if row[4].startswith("SS")}


def test_incidents_list_with_its_filters(database: str) -> None:
    now = datetime.now(UTC)

    async def work(sessions: Sessions) -> None:
        seed = Seed(sessions, Vault("cli"), lambda: now)
        await seed.incident(kind="lost", severity="high", owner="claims", triage_due_at=now - timedelta(hours=1))
        await seed.incident(await seed.shipment("loggi"), kind="stalled")
        await seed.incident(kind="delayed", status="triaged", triage_due_at=now - timedelta(hours=1))

    on(database, work)
    lost, stalled, delayed = (make_code("SS", n) for n in (1, 2, 3))
    rows = listed()
    assert list(rows) == [delayed, stalled, lost]  # newest first
    due = now - timedelta(hours=1)
    assert rows[lost] == [
        "lost",
        "high",
        "open",
        "claims",
        lost,
        f"{now:%Y-%m-%d %H:%M}",
        f"{due:%Y-%m-%d %H:%M}",
        "yes",
    ]
    assert rows[stalled][:4] == ["stalled", "medium", "open", "ops"] and rows[stalled][-1] == ""
    assert rows[delayed][2] == "triaged" and rows[delayed][-1] == ""  # past its deadline, but in hand
    assert list(listed("--overdue")) == [lost]
    assert list(listed("--kind", "stalled")) == [stalled]
    assert list(listed("--status", "triaged")) == [delayed]
    assert list(listed("--carrier", "loggi")) == [stalled]
    assert list(listed("--owner", "claims")) == [lost]
    assert list(listed("--carrier", "correios", "--owner", "ops")) == [delayed]
    assert list(listed("--limit", "1")) == [delayed]
    wrong = runner.invoke(app, ["incidents", "list", "--kind", "late"])
    assert wrong.exit_code == 2 and "late" in wrong.output


def test_detect_once_opens_incidents_unless_an_outage_guards_the_account(database: str) -> None:
    now = datetime.now(UTC)
    outage = {"circuit_open_until": now + timedelta(hours=1), "consecutive_failures": 5, "last_error": "HTTP 503"}

    async def silent_and_in_outage(sessions: Sessions) -> None:
        await Seed(sessions, Vault("cli"), lambda: now).shipment()
        async with sessions() as session, session.begin():
            await session.execute(update(CarrierAccount).values(**outage))
            silent = {"status": "in_transit", "last_event_at": now - timedelta(days=10), "last_polled_at": now}
            await session.execute(update(Shipment).values(**silent, poll_error_count=0))

    async def back(sessions: Sessions) -> None:
        async with sessions() as session, session.begin():
            await session.execute(update(CarrierAccount).values(circuit_open_until=None, consecutive_failures=0))

    on(database, silent_and_in_outage)
    guarded = runner.invoke(app, ["detect", "--once"])
    assert guarded.exit_code == 0 and "opened 0, escalated 0" in guarded.output
    assert "outage guard main: circuit open until" in guarded.output and "HTTP 503" in guarded.output
    on(database, back)
    swept = runner.invoke(app, ["detect", "--once"])
    assert swept.exit_code == 0 and "opened 1, escalated 0" in swept.output and "opened stalled: 1" in swept.output
    assert "outage guard" not in swept.output
    assert list(listed("--kind", "stalled")) == [make_code("SS", 1)]
