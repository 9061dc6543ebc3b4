"""``zelo incidents list`` and ``zelo detect --once`` on a SQLite file database, at the real time."""

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

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


def listed(*options: str) -> dict[str, dict[str, str]]:
    """The table's incidents by tracking code, read from its two lines per incident (printed 80 columns wide)."""
    result = runner.invoke(app, ["incidents", "list", *options], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert max(len(line) for line in result.output.splitlines()) <= 80
    lines = [line.split() for line in result.output.splitlines()]
    rows = {}
    for first, second in pairwise(lines):
        if len(first) == 7 and first[0].isdigit():
            severity, owner, *late, code = second[:-3]
            rows[code] = {
                "kind": first[1],
                "status": first[2],
                "order": first[3],
                "opened": " ".join(first[4:]),
                "severity": severity.rstrip(","),
                "owner": owner,
                "overdue": " ".join(late),
                "due": " ".join(second[-3:]),
            }
    return rows


def footer(*options: str) -> str:
    return runner.invoke(app, ["incidents", "list", *options], env={"COLUMNS": "80"}).output.strip().splitlines()[-1]


def test_incidents_list_with_its_filters(database: str) -> None:
    now = datetime.now(UTC)

    async def work(sessions: Sessions) -> None:
        seed = Seed(sessions, Vault("cli"), lambda: now)
        await seed.incident(kind="lost", severity="high", owner="claims", triage_due_at=now - timedelta(hours=1))
        await seed.incident(await seed.shipment("loggi"), kind="stalled")
        await seed.incident(
            kind="returning_to_sender", status="waiting_customer", triage_due_at=now - timedelta(hours=1)
        )
        async with sessions() as session, session.begin():
            await session.execute(update(Shipment).where(Shipment.id == 1).values(order_number="PED-000123"))

    on(database, work)
    lost, stalled, returning = (make_code("SS", n) for n in (1, 2, 3))
    rows = listed()
    assert list(rows) == [returning, stalled, lost]  # newest first
    brt = ZoneInfo("America/Sao_Paulo")
    due = now - timedelta(hours=1)
    assert rows[lost] == {
        "kind": "lost",
        "status": "open",
        "order": "PED-000123",
        "opened": f"{now.astimezone(brt):%Y-%m-%d %H:%M} -03",
        "severity": "high",
        "owner": "claims",
        "overdue": "overdue",
        "due": f"{due.astimezone(brt):%Y-%m-%d %H:%M} -03",
    }
    assert [rows[stalled][k] for k in ("kind", "severity", "status", "owner", "order", "overdue")] == [
        "stalled",
        "medium",
        "open",
        "ops",
        "-",
        "",
    ]
    assert rows[returning]["kind"] == "returning_to_sender"  # the longest codes, whole at 80 columns
    assert rows[returning]["status"] == "waiting_customer" and rows[returning]["overdue"] == ""  # in hand
    assert footer() == "showing 3 of 3 incidents, newest first; times in America/Sao_Paulo"
    assert list(listed("--overdue")) == [lost]
    assert list(listed("--kind", "stalled")) == [stalled]
    assert list(listed("--status", "waiting_customer")) == [returning]
    assert list(listed("--carrier", "loggi")) == [stalled]
    assert list(listed("--owner", "claims")) == [lost]
    assert list(listed("--carrier", "correios", "--owner", "ops")) == [returning]
    assert list(listed("--limit", "1")) == [returning]
    assert footer("--limit", "1").startswith("showing 1 of 3 incidents")
    assert footer("--kind", "damaged", "--overdue") == "no incidents match --kind damaged --overdue"
    wrong = runner.invoke(app, ["incidents", "list", "--kind", "late"])
    assert wrong.exit_code == 2 and "late" in wrong.output


def test_incidents_list_shows_times_in_the_stores_zone(database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    now = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)

    async def work(sessions: Sessions) -> None:
        await Seed(sessions, Vault("cli"), lambda: now).incident(kind="lost")

    on(database, work)
    monkeypatch.setenv("ZELO_STORE_TIMEZONE", "America/Manaus")
    get_settings.cache_clear()
    [row] = listed().values()
    assert row["opened"] == "2026-11-20 11:30 -04"
    monkeypatch.setenv("ZELO_STORE_TIMEZONE", "Mars/Olympus")
    get_settings.cache_clear()
    bad = runner.invoke(app, ["incidents", "list"])
    assert bad.exit_code == 2 and "'Mars/Olympus' is not a known IANA time zone" in bad.output


def test_detect_without_once_sweeps_again_and_again(database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    pauses: list[float] = []

    async def pause(seconds: float) -> None:
        pauses.append(seconds)
        if len(pauses) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(asyncio, "sleep", pause)
    result = runner.invoke(app, ["detect", "--every", "60"])
    assert pauses == [60.0, 60.0]
    assert result.output.count("opened 0, escalated 0") == 2  # a sweep, a pause, a sweep, a pause (stopped)


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
