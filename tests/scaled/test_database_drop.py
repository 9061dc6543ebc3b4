"""PostgreSQL drops a worker's connections in the middle of a poll batch (``pg_terminate_backend``, as a
restart of the server does to each client; a real restart would disturb everything else on this machine's
shared server): the batch is done again, and nothing is half-written."""

import asyncio

from arq import ArqRedis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from carriers.sandbox import SandboxState
from tests.conftest import PG_DATABASE, PG_SERVER
from tests.scaled.harness import (
    POLL_LEASE_S,
    Workers,
    expected_events,
    one_more_run,
    sandbox,
    shipments_on_sandbox,
    stored,
    until,
)
from tracker.db import make_engine

TERMINATE = text(
    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = :db AND pid <> pg_backend_pid()"
)


async def test_connections_dropped_mid_batch_leave_nothing_half_written(
    redis: ArqRedis, pg: AsyncEngine, workers: Workers
) -> None:
    state = SandboxState()
    state.faults.latency_ms = 700
    with sandbox(state) as url:
        await shipments_on_sandbox(pg, state, url, 400)
        worker = workers.start(poll_chunk=50, poll_concurrency=2, worker_slots=2)
        await until(lambda: state.counters.requests["track"] >= 3, 30, "the first track requests", workers.logs)
        admin = make_engine(f"{PG_SERVER}/{PG_DATABASE}", isolation_level="AUTOCOMMIT")
        async with admin.connect() as conn:
            dropped = await conn.scalar(TERMINATE, {"db": PG_DATABASE})
        await admin.dispose()
        await pg.dispose()  # this process's pooled connections were dropped too
        assert dropped, "no connection of the worker was open"
        state.faults.latency_ms = 0
        await asyncio.sleep(POLL_LEASE_S)  # the claims of the failed run lapse
        await one_more_run(redis, "poll_due")  # as the next minute's tick would

        async def all_polled() -> bool:
            return (await stored(pg)).unpolled == 0

        await until(all_polled, 30, "every shipment polled", workers.logs)
        assert worker.poll() is None, workers.logs()
    found = await stored(pg)
    assert found.polled == 400 and found.unpolled == 0
    assert found.events == found.distinct_events == expected_events(state)
