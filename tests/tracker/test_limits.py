"""Rates shared through a real Redis: several workers' bookings on one key keep one limit together."""

import asyncio
import itertools
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
import structlog
from redis.asyncio import Redis

from notifier.ratelimit import RateLimit
from tests.support import RecordingSleep
from tracker.limits import SharedRate
from tracker.polling.pace import Pacer

REDIS = "redis://127.0.0.1:6379/10"


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(REDIS)
    await client.flushdb()
    yield client
    await client.flushdb()
    await client.aclose()


async def test_two_workers_booking_one_account_keep_its_rate_together(redis: Redis) -> None:
    workers = [SharedRate(redis, "zelo:rate:account:1", per_second=50) for _ in range(2)]

    async def slot(rate: SharedRate) -> float:
        booked, wait = await rate.book()
        assert booked
        return time.monotonic() + wait  # when this booking may start, on this process's clock

    starts = sorted(await asyncio.gather(*(slot(workers[i % 2]) for i in range(200))))
    assert len(starts) == 200
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert min(gaps) > 0.02 - 0.005  # evenly spaced: 1/50 s apart, whichever worker booked
    assert starts[-1] - starts[0] == pytest.approx(199 / 50, abs=0.2)  # 200 slots take 4 s, not 2 (per worker)


async def test_a_slot_later_than_max_wait_is_not_booked(redis: Redis) -> None:
    rate = SharedRate(redis, "zelo:rate:channel:whatsapp", per_second=1)
    assert (await rate.book(max_wait=0.5))[0] is True
    booked, wait = await rate.book(max_wait=0.5)
    assert booked is False and 0.5 < wait <= 1.0
    booked, wait = await rate.book(max_wait=2)  # nothing was taken by the refusal: the next slot is still 1 s on
    assert booked is True and 0.5 < wait <= 1.0


async def test_a_burst_books_that_many_at_once(redis: Redis) -> None:
    rate = SharedRate(redis, "zelo:rate:channel:email", per_second=10, burst=10)
    waits = [await rate.book() for _ in range(12)]
    assert [w == 0 for _, w in waits[:10]] == [True] * 10 and all(w > 0.05 for _, w in waits[10:])


async def test_an_unreachable_redis_falls_back_to_this_process_spacing() -> None:
    gone = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    clock = iter([100.0, 100.0, 100.0])
    rate = SharedRate(gone, "zelo:rate:account:9", per_second=2, monotonic=lambda: next(clock))
    with structlog.testing.capture_logs() as logs:
        assert await rate.book() == (True, 0.0)
        assert await rate.book() == (True, 0.5)  # spaced by this process alone meanwhile
    assert [e["event"] for e in logs] == ["shared_rate_unreachable"] * 2
    await gone.aclose()


async def test_pacers_of_two_pollers_share_the_account_bucket(redis: Redis) -> None:
    sleeps = [RecordingSleep(), RecordingSleep()]
    now = lambda: datetime.now(UTC)  # noqa: E731
    pacers = [Pacer(20, now, s, SharedRate(redis, "zelo:rate:account:3", 20)) for s in sleeps]
    for _ in range(5):
        for pacer in pacers:
            await pacer.ready()
            pacer.started()
    waited = sorted(sleeps[0].waits + sleeps[1].waits)
    assert len(waited) == 9 and waited[-1] == pytest.approx(9 / 20, abs=0.05)  # ten starts, one bucket


async def test_the_dispatchers_limit_in_scaled_mode_waits_or_refuses_from_the_shared_bucket(redis: Redis) -> None:
    sleep = RecordingSleep()
    limits = [
        RateLimit(1, max_wait=0.2, sleep=sleep, shared=SharedRate(redis, "zelo:rate:channel:sms", 1)) for _ in "ab"
    ]
    assert await limits[0].acquire() is None
    later = await limits[1].acquire()  # the other worker's send took this second's slot
    assert later is not None and 0.2 < later <= 1.0 and sleep.waits == []


async def test_a_shared_slot_is_booked_only_once_a_place_is_held(redis: Redis) -> None:
    """Booked before a place, a slot could pass while the request queued, and queued requests then start
    together, over the limit."""
    gate = asyncio.Semaphore(1)
    shared = SharedRate(redis, "zelo:rate:account:5", 50)
    booked_holding: list[bool] = []
    book = shared.book

    async def recording_book(max_wait: float | None = None) -> tuple[bool, float]:
        booked_holding.append(gate.locked())
        return await book(max_wait)

    shared.book = recording_book  # type: ignore[method-assign]
    pacer = Pacer(50, lambda: datetime.now(UTC), RecordingSleep(), shared)
    for _ in range(3):
        assert await pacer.begin(gate, max_wait=5) is None
        gate.release()
    assert booked_holding == [True, True, True]


async def test_a_held_bucket_books_no_one_until_the_pause_ends_and_refuses_a_long_wait(redis: Redis) -> None:
    rates = [SharedRate(redis, "zelo:rate:account:6", 10) for _ in "ab"]
    await rates[0].hold(2.0)  # one worker was told Retry-After: 2
    booked, wait = await rates[1].book()
    assert booked and 1.9 < wait <= 2.0
    gate = asyncio.Semaphore(1)
    pacer = Pacer(10, lambda: datetime.now(UTC), RecordingSleep(), rates[1])
    later = await pacer.begin(gate, max_wait=0.5)  # the caller defers the account instead of waiting
    assert later is not None and later > 1.5 and not gate.locked()


async def test_a_request_woken_past_its_shared_slot_books_a_fresh_one_rather_than_bunch(redis: Redis) -> None:
    """A busy event loop wakes a sleeper late; starting then would put it beside the requests started on their
    own slots after it (two workers together over the limit in that second)."""
    clock = [1000.0]
    lateness = [0.5, 0.0]  # the first wake-up comes half a second late, the next on time

    async def sleep(seconds: float) -> None:
        clock[0] += seconds + lateness.pop(0)

    shared = SharedRate(redis, "zelo:rate:account:7", 10)
    bookings: list[float] = []
    book = shared.book

    async def counted(max_wait: float | None = None) -> tuple[bool, float]:
        found = await book(max_wait)
        bookings.append(found[1])
        return found

    shared.book = counted  # type: ignore[method-assign]
    await shared.book()  # another worker's request holds the next slot: this one waits for its own
    pacer = Pacer(10, lambda: datetime.now(UTC), sleep, shared, monotonic=lambda: clock[0])
    gate = asyncio.Semaphore(1)
    assert await pacer.begin(gate, max_wait=5) is None
    assert len(bookings) == 3 and bookings[1] > 0  # its first slot passed while it slept: booked again
