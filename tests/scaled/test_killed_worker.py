"""A worker killed with SIGKILL in the middle of its work: after a new worker takes over, every event is
stored once, every message sent at most once (and each accounted for), every claim filed once."""

import asyncio

from arq import ArqRedis
from sqlalchemy.ext.asyncio import AsyncEngine

from carriers.sandbox import SandboxState
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

POLLING = {"poll_chunk": 50, "poll_concurrency": 2, "worker_slots": 2}


async def test_a_worker_killed_mid_poll_batch_loses_and_doubles_no_event(
    redis: ArqRedis, pg: AsyncEngine, workers: Workers
) -> None:
    state = SandboxState()
    state.faults.latency_ms = 700  # 2 requests in flight of 50 parcels each: 8 requests, about 3 s
    with sandbox(state) as url:
        await shipments_on_sandbox(pg, state, url, 400)
        first = workers.start(**POLLING)
        await until(lambda: state.counters.requests["track"] >= 3, 30, "the first track requests", workers.logs)
        workers.kill(first)  # mid-batch: some chunks stored, others claimed and in flight
        assert (await stored(pg)).unpolled > 0, "the worker was killed after the batch, not in it"
        workers.start(**POLLING)
        state.faults.latency_ms = 0
        await asyncio.sleep(POLL_LEASE_S)  # the killed run's claims lapse
        await one_more_run(redis, "poll_due")  # the killed run holds this minute's id: one more, as the next tick

        async def polled_again() -> bool:
            return (await stored(pg)).unpolled == 0

        await until(polled_again, 30, "the killed run's shipments polled again", workers.logs)
    found = await stored(pg)
    assert found.polled == 400 and found.unpolled == 0
    assert found.events == found.distinct_events == expected_events(state)  # each event stored once
