"""Redis restarted, empty, under a running worker (a Redis server of this test's own, on a free port: the
machine's Redis serves other tests): the worker rides it out, and the due polls the lost queue knew nothing
of are found in the database and done within one cycle (the minute's tick or the sweeper, at :00 and :30)."""

import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from carriers.sandbox import SandboxState
from tests.scaled.harness import (
    Workers,
    free_port,
    listening,
    one_more_run,
    sandbox,
    shipments_on_sandbox,
    stored,
    until,
)
from tracker.db import make_sessionmaker
from tracker.models import Shipment
from tracker.queue import open_pool


class RedisServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:  # no persistence: a restart comes back empty, every queued job lost
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    yield server
    server.kill()


async def test_a_worker_rides_out_a_redis_restart_and_the_due_polls_are_found_again(
    own_redis: RedisServer, pg: AsyncEngine, workers: Workers
) -> None:
    state = SandboxState()
    state.faults.latency_ms = 1000
    with sandbox(state) as url:
        await until(lambda: listening(own_redis.port), 10, "redis", workers.logs)
        await shipments_on_sandbox(pg, state, url, 200, prefix="RA")
        metrics = free_port()
        worker = workers.start(
            redis_url=own_redis.url, worker_metrics_port=metrics, poll_chunk=50, poll_concurrency=1, worker_jobs=2
        )
        await until(lambda: state.counters.requests["track"] >= 1, 30, "a poll under way", workers.logs)
        pool = await open_pool(own_redis.url)
        for _ in range(3):  # work queued behind the running poll, lost with Redis
            await one_more_run(pool, "poll_due")
        await pool.aclose()
        own_redis.kill()
        own_redis.start()  # empty
        state.faults.latency_ms = 0
        late = datetime.now(UTC) - timedelta(minutes=6)  # due minutes ago, known to no queue
        await shipments_on_sandbox(pg, state, url, 200, prefix="RB", account="sandbox-b")
        async with make_sessionmaker(pg)() as session, session.begin():
            await session.execute(update(Shipment).where(Shipment.tracking_code.like("RB%")).values(next_poll_at=late))

        async def all_polled() -> bool:
            return (await stored(pg)).unpolled == 0

        await until(all_polled, 40, "every due poll done after the restart", workers.logs)  # :00 tick or :30 sweep
        assert worker.poll() is None, workers.logs()  # the same worker, still running
    assert state.counters.objects_returned == 400  # none polled twice
