"""Two worker processes against one carrier account with a rate limit: together they stay inside it (measured
at the sandbox, in every one-second window), and no shipment is asked of the carrier twice in the cycle."""

import bisect

from arq import ArqRedis
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

RATE = 10  # the account's requests per second
SHIPMENTS = 2000  # 40 requests of 50: about 4 s at the limit
# Requests start on their booked slot, but reach the sandbox after the worker and the sandbox's thread get the CPU:
# on a loaded machine (load average 11 on 2 cores) one may arrive up to 0.8 s late, next to an on-time one. At
# most this many late arrivals are allowed in a window; workers that did not share the bucket would put RATE
# more in every second.
LATE, LATE_S = 2, 1.0


def busiest_second(times: list[float]) -> int:
    """The most requests that started within one second of each other."""
    times = sorted(times)
    return max((bisect.bisect_left(times, t + 1.0) - i for i, t in enumerate(times)), default=0)


def test_busiest_second_counts_the_window_from_each_request() -> None:
    assert busiest_second([]) == 0
    assert busiest_second([0.0, 0.5, 0.99, 1.0, 1.5]) == 3
    assert busiest_second([i / 10 for i in range(30)]) == 10


async def test_two_workers_together_keep_the_accounts_rate_and_poll_each_shipment_once(
    redis: ArqRedis, pg: AsyncEngine, workers: Workers
) -> None:
    state = SandboxState()
    with sandbox(state) as url:
        ports = [free_port() for _ in range(2)]
        # two runs at a time each: one worker cannot take all four runs queued at once (arq reads up to 100)
        both = [
            workers.start(poll_chunk=100, worker_slots=4, worker_jobs=2, worker_metrics_port=port) for port in ports
        ]
        await until(lambda: all(map(listening, ports)), 30, "both workers up", workers.logs)
        await shipments_on_sandbox(pg, state, url, SHIPMENTS, rate=RATE)
        for _ in range(4):  # runs for both workers to take, as a tick queues them
            await one_more_run(redis, "poll_due")

        # waiting on the sandbox's own count: nothing else in this process competes with its thread meanwhile
        await until(lambda: len(state.counters.track_started) >= SHIPMENTS // 50, 30, "the requests", workers.logs)

        async def drained() -> bool:
            return (await stored(pg)).unpolled == 0

        await until(drained, 10, "every shipment polled", workers.logs)
        assert all(p.poll() is None for p in both)
    times = state.counters.track_started
    assert len(times) == SHIPMENTS // 50
    assert max(times) - min(times) >= (len(times) - 1) / RATE - LATE_S  # together: the account's rate, no more
    assert busiest_second(times) <= RATE + 1 + LATE  # the bucket's burst of one (and the late arrivals)
    assert state.counters.objects_returned == SHIPMENTS  # no shipment polled twice in the cycle
    assert state.counters.rate_limited == 0
    for n in range(2):  # both workers polled
        assert "poll_cycle" in (workers.folder / f"worker-{n}.log").read_text(), workers.logs()
