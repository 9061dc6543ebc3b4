"""The pacer on a simulated clock: a sleep that moves the clock stands in for time passing."""

from datetime import UTC, datetime, timedelta

import pytest

from tests.support import RecordingSleep
from tracker.clock import SimulatedClock
from tracker.polling.pace import Pacer

T0 = datetime(2026, 11, 2, 11, 0, tzinfo=UTC)


class ClockSleep:
    """Sleeping moves the simulated clock by the time slept (one sleeper at a time)."""

    def __init__(self, clock: SimulatedClock) -> None:
        self.clock, self.waits = clock, list[float]()

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.clock.advance(timedelta(seconds=seconds))


async def starts(pacer: Pacer, clock: SimulatedClock, n: int, *, work: timedelta = timedelta(0)) -> list[float]:
    """Seconds after T0 at which ``n`` requests start, each taking ``work`` before the next is issued."""
    at = []
    for _ in range(n):
        await pacer.ready()
        pacer.started()
        at.append((clock.now() - T0).total_seconds())
        clock.advance(work)
    return at


async def test_starts_are_spaced_one_interval_apart_and_the_first_does_not_wait() -> None:
    clock = SimulatedClock(T0)
    sleep = ClockSleep(clock)
    assert await starts(Pacer(4, clock.now, sleep), clock, 4) == [0, 0.25, 0.5, 0.75]
    assert sleep.waits == [0.25, 0.25, 0.25]


async def test_time_already_spent_counts_towards_the_interval() -> None:
    clock = SimulatedClock(T0)
    sleep = ClockSleep(clock)
    pacer = Pacer(2, clock.now, sleep)
    assert await starts(pacer, clock, 3, work=timedelta(seconds=0.2)) == [0, 0.5, 1.0]
    assert sleep.waits == pytest.approx([0.3, 0.3])
    clock.advance(timedelta(seconds=5))  # idle for longer than the interval: the next starts at once
    assert await starts(pacer, clock, 1) == [6.2] and len(sleep.waits) == 2


async def test_no_limit_never_waits() -> None:
    clock, sleep = SimulatedClock(T0), RecordingSleep()
    assert await starts(Pacer(None, clock.now, sleep), clock, 50) == [0] * 50
    assert sleep.waits == []


async def test_a_clock_set_back_costs_one_interval_at_most() -> None:
    clock, sleep = SimulatedClock(T0 + timedelta(hours=1)), RecordingSleep()
    pacer = Pacer(1, clock.now, sleep)
    pacer.started()
    clock.set(T0)
    await pacer.ready()
    assert sleep.waits == [1.0]


@pytest.mark.parametrize("rate", [0, -1, float("nan"), 1e-300, 1e300, float("inf")])
def test_a_rate_must_be_between_a_hundredth_and_ten_thousand_per_second(rate: float) -> None:
    with pytest.raises(ValueError, match=r"expected a number of requests per second from 0\.01 to 10000"):
        Pacer(rate, SimulatedClock(T0).now, RecordingSleep())
