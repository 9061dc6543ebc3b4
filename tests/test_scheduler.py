"""Scheduling in both modes from one table: the cron times, and arq workers on a real Redis and PostgreSQL."""

import asyncio
import subprocess
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import uvicorn
from arq import ArqRedis
from arq.worker import Worker, create_worker
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.support import free_port
from carriers.correios.s10 import make_code
from carriers.sandbox import Parcel, SandboxState, create_app
from scheduler import Scheduled, cron_times, queue_runs, sweep_overdue, worker_settings
from tests.conftest import PG_DATABASE, PG_SERVER
from tests.support import correios_account, empty_queue, running
from tracker.clock import SimulatedClock
from tracker.config import Settings
from tracker.db import make_sessionmaker
from tracker.models import Shipment, TrackingEvent
from tracker.queue import QUEUE, open_pool
from tracker.runtime import job_id
from tracker.shipments.service import NewShipment, register
from tracker.vault import Vault
from zelo import features

REDIS = "redis://127.0.0.1:6379/9"  # a database of its own, flushed around each test
SECRET = "scheduler-test-secret"


def test_every_scheduled_job_has_cron_times_for_its_interval() -> None:
    assert cron_times(30) == {"second": {0, 30}}
    assert cron_times(60) == {"minute": set(range(60)), "second": {0}}
    assert cron_times(900) == {"minute": {0, 15, 30, 45}, "second": {0}}
    assert cron_times(3600) == {"hour": set(range(24)), "second": {0}, "minute": {0}}
    for entry in features.SCHEDULE:
        cron_times(entry.every)  # every interval of the table is one arq can keep
    for bad in (7, 45, 7000):
        with pytest.raises(ValueError, match=f"every={bad}: expected seconds that divide"):
            cron_times(bad)


def test_a_job_id_is_its_name_and_sorted_arguments() -> None:
    assert job_id("poll_due") == "poll_due"
    assert job_id("poll_due", slot=2) == "poll_due:slot=2"
    assert job_id("x", b=1, a="z") == "x:a=z:b=1"


@pytest.fixture
async def redis() -> AsyncIterator[ArqRedis]:
    async with empty_queue(REDIS) as pool:
        yield pool


def scaled(**changes: Any) -> Settings:
    return Settings(
        env="test",
        secret_key=SECRET,
        database_url=f"{PG_SERVER}/{PG_DATABASE}",
        redis_url=REDIS,
        **changes,
    )


async def test_a_tick_queues_each_run_once_under_its_id(redis: ArqRedis, pg: AsyncEngine) -> None:
    poll = next(e for e in features.SCHEDULE if e.name == "poll_due")
    clock = SimulatedClock(datetime(2026, 12, 2, 17, 0, 10, tzinfo=UTC))
    async with features.open_runtime(scaled(worker_slots=3), clock) as runtime:
        await queue_runs(runtime, poll)
        clock.advance(timedelta(seconds=40))
        await queue_runs(runtime, poll)  # a second worker's tick in the same minute
        clock.advance(timedelta(seconds=20))
        await queue_runs(runtime, poll)  # the next minute's: queued even if this minute's are held
    queued = {m.decode() for m in await redis.zrange(QUEUE, 0, -1)}
    minute = int(datetime(2026, 12, 2, 17, 0, tzinfo=UTC).timestamp())
    assert queued == {f"poll_due:period={p}:slot={i}" for p in (minute, minute + 60) for i in range(3)}


async def shipments_posted(pg: AsyncEngine, state: SandboxState, base_url: str, count: int) -> None:
    now = datetime.now(UTC)
    parcels = [Parcel(make_code("SW", i), "on_time", now - timedelta(days=2)) for i in range(count)]
    state.register(parcels)
    async with make_sessionmaker(pg)() as session, session.begin():
        account = await correios_account(session, Vault(SECRET), name="sandbox", base_url=base_url, now=now)
        await register(session, [NewShipment("correios", account, p.code) for p in parcels], now)


def burst_worker(settings: Settings, schedule: tuple[Scheduled, ...] = features.SCHEDULE) -> Worker:
    """A worker that stops once the queue is empty (its cron ticks queue their runs at start-up)."""
    found = worker_settings(schedule, settings, features.open_runtime)
    return create_worker(found, burst=True, handle_signals=False, poll_delay=0.05)


async def test_two_workers_poll_every_due_shipment_once(redis: ArqRedis, pg: AsyncEngine) -> None:
    state = SandboxState()
    with running(uvicorn.Config(create_app(state), port=0, log_level="critical", lifespan="off")) as port:
        await shipments_posted(pg, state, f"http://127.0.0.1:{port}", 600)
        # Polls alone: the sweep's locks would make a run skip rows, which the next minute's runs would take.
        polls = tuple(e for e in features.SCHEDULE if e.name == "poll_due")
        workers = [burst_worker(scaled(poll_chunk=50, worker_slots=4), polls) for _ in range(2)]
        try:
            await asyncio.wait_for(asyncio.gather(*(w.async_run() for w in workers)), timeout=45)
        finally:
            for w in workers:
                await w.close()
    async with make_sessionmaker(pg)() as session:
        polled = await session.scalar(select(func.count()).where(Shipment.last_polled_at.is_not(None)))
        events = await session.scalar(select(func.count()).select_from(TrackingEvent))
    assert polled == 600 and events and events >= 600
    assert state.counters.objects_returned == 600  # no shipment asked of the carrier twice in the cycle
    assert sum(w.jobs_complete for w in workers) >= 4 and sum(w.jobs_failed for w in workers) == 0


async def test_the_sweeper_queues_a_fresh_run_for_overdue_polls(redis: ArqRedis, pg: AsyncEngine) -> None:
    state = SandboxState()
    await shipments_posted(pg, state, "http://127.0.0.1:9", 5)
    poll = next(e for e in features.SCHEDULE if e.name == "poll_due")
    async with features.open_runtime(scaled()) as runtime:
        assert await sweep_overdue(runtime, (poll,)) == {}  # due now, not late: the tick's runs take them
        async with runtime.sessions() as session, session.begin():
            late = datetime.now(UTC) - timedelta(minutes=6)
            await session.execute(update(Shipment).values(next_poll_at=late))
        assert await sweep_overdue(runtime, (poll,)) == {"poll_due": 5}
        quiet = Scheduled(poll.job, 60, 60)  # an entry with no overdue check is left alone
        assert await sweep_overdue(runtime, (quiet,)) == {}
    [queued] = [m.decode() for m in await redis.zrange(QUEUE, 0, -1)]
    assert queued.startswith("poll_due:sweep=")


def test_zelo_worker_needs_redis_and_checks_the_health_key(redis: ArqRedis, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from tracker.config import get_settings
    from zelo.cli import app

    monkeypatch.setenv("ZELO_SECRET_KEY", SECRET)
    get_settings.cache_clear()
    runner = CliRunner()
    alone = runner.invoke(app, ["worker"])
    assert alone.exit_code == 1 and "ZELO_REDIS_URL is not set: a worker needs Redis" in alone.output
    monkeypatch.setenv("ZELO_REDIS_URL", REDIS)
    get_settings.cache_clear()
    assert runner.invoke(app, ["worker", "--check"]).exit_code == 1  # no worker has reported itself
    asyncio.run(_set(REDIS, f"{QUEUE}:health-check", "j_complete=0"))
    healthy = runner.invoke(app, ["worker", "--check"])
    assert healthy.exit_code == 0, healthy.output
    monkeypatch.setenv("ZELO_REDIS_URL", f"redis://:hunter2@127.0.0.1:{free_port()}/0")  # nothing listens there
    get_settings.cache_clear()
    started = time.monotonic()
    down = runner.invoke(app, ["worker", "--check"])
    assert down.exit_code == 1 and time.monotonic() - started < 5  # a probe answers at once, retrying nothing
    assert "Redis at 127.0.0.1:" in down.output and "cannot be reached" in down.output
    assert "hunter2" not in down.output and "Traceback" not in down.output
    get_settings.cache_clear()


async def _set(url: str, key: str, value: str) -> None:
    pool = await open_pool(url)
    await pool.set(key, value, ex=30)
    await pool.aclose()


def redis_server(port: int) -> subprocess.Popen[bytes]:
    """A Redis server of this test's own (the machine's is shared), keeping nothing on disk."""
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 10
    while subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True).stdout != b"PONG\n":
        assert time.monotonic() < deadline, "redis-server did not start"
        time.sleep(0.05)
    return server


async def test_the_queue_rides_out_a_redis_restart() -> None:
    port = free_port()
    server = redis_server(port)
    pool = await open_pool(f"redis://127.0.0.1:{port}/0")
    try:
        await pool.enqueue_job("poll_due", _job_id="a")
        server.kill()
        server.wait()
        later = asyncio.get_running_loop().run_in_executor(None, lambda: (time.sleep(1.5), redis_server(port))[1])
        assert await pool.enqueue_job("poll_due", _job_id="b") is not None  # retried until Redis is back
        server = await later
        assert await pool.zcard(QUEUE) == 1  # a restart without persistence lost "a": the sweeper's case
    finally:
        await pool.aclose()
        server.kill()
        server.wait()
