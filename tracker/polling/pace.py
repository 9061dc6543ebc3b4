"""Spacing one carrier account's requests to its rate limit, on the injected clock and sleep.

A :class:`Pacer` lets a request start at most every ``1 / rate`` seconds: :meth:`Pacer.ready` waits until the
next start is allowed, :meth:`Pacer.started` records one start (call it when the request really starts, e.g.
after taking a concurrency slot, so time spent queueing never lets two starts bunch up). One caller at a time
per pacer (the poller issues an account's batches one after another; they still run concurrently).

In scaled mode the account's limit is shared by every worker (``shared``, a Redis bucket per account): ready
books the next slot of the account's bucket and waits for it, so N workers together keep the one limit.
:meth:`Pacer.begin` takes both the rate and a place in the caller's concurrency gate in the right order for
each mode: a shared slot is booked only once a place is held, so the instant booked is the instant the request
starts (booked earlier, a slot could pass while the request queued for a place, and the queued ones then start
together).
"""

import asyncio
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from carriers.base import Now, Sleep
from tracker.limits import SharedRate

SLOWEST, FASTEST = 0.01, 10_000.0  # requests per second an account's own limit may be set to


def rate_problem(rate: float | None) -> str | None:
    """What is wrong with ``rate`` as an account's requests per second (None: nothing; None as rate: no limit)."""
    if rate is None or SLOWEST <= rate <= FASTEST:  # also refuses NaN and infinities
        return None
    return f"got {rate:g}; expected a number of requests per second from {SLOWEST:g} to {FASTEST:g}"


class Pacer:
    """At most ``rate`` request starts per second; ``rate`` None: no limit, never waits."""

    def __init__(
        self,
        rate: float | None,
        now: Now,
        sleep: Sleep,
        shared: SharedRate | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if (problem := rate_problem(rate)) is not None:
            raise ValueError(f"rate limit {problem}")
        self.rate, self.shared = rate, shared
        self._interval = timedelta(seconds=1 / rate) if rate else None
        self._now, self._sleep, self._monotonic = now, sleep, monotonic
        self._next: datetime | None = None  # the earliest instant the next request may start

    async def ready(self) -> None:
        """Return when the next request may start (at once the first time, or when unlimited)."""
        if self.shared is not None and self._interval is not None:
            _, wait_s = await self.shared.book()  # the slot is ours: every worker's next one comes after it
            if wait_s > 0:
                await self._sleep(wait_s)
            return
        if self._interval is None or self._next is None:
            return
        # never more than one interval: a clock set back must not stall the account
        wait = min(self._next - self._now(), self._interval).total_seconds()
        if wait > 0:
            await self._sleep(wait)

    def started(self) -> None:
        """A request starts now: the next one waits a full interval from here."""
        if self._interval is not None and self.shared is None:
            self._next = self._now() + self._interval

    async def begin(self, gate: asyncio.Semaphore, max_wait: float) -> float | None:
        """Wait for this account's next start and a place in ``gate``: None when the request may start now
        (holding its place), or the seconds until the shared bucket's next slot when that is more than
        ``max_wait`` (nothing is held then: the caller leaves the account for later)."""
        if self.shared is None or self._interval is None:
            await self.ready()  # waits holding no place: other accounts' requests go on meanwhile
            await gate.acquire()
            self.started()
            return None
        await gate.acquire()
        while True:
            booked, wait_s = await self.shared.book(max_wait)
            if not booked:
                gate.release()
                return wait_s
            slot = self._monotonic() + wait_s
            if wait_s > 0:
                await self._sleep(wait_s)
            # woken late (the event loop was busy): the slot has passed, and starting now could bunch with the
            # requests started on time after it; a fresh slot keeps every start within half an interval of its own
            if self._monotonic() - slot <= self._interval.total_seconds() / 2:
                return None
