"""Spacing one carrier account's requests to its rate limit, on the injected clock and sleep.

A :class:`Pacer` lets a request start at most every ``1 / rate`` seconds: :meth:`Pacer.ready` waits until the
next start is allowed, :meth:`Pacer.started` records one start (call it when the request really starts, e.g.
after taking a concurrency slot, so time spent queueing never lets two starts bunch up). One caller at a time
per pacer (the poller issues an account's batches one after another; they still run concurrently).

In scaled mode the account's limit is shared by every worker (``shared``, a Redis bucket per account): ready
books the next slot of the account's bucket and waits for it, so N workers together keep the one limit.
"""

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

    def __init__(self, rate: float | None, now: Now, sleep: Sleep, shared: SharedRate | None = None) -> None:
        if (problem := rate_problem(rate)) is not None:
            raise ValueError(f"rate limit {problem}")
        self.rate, self.shared = rate, shared
        self._interval = timedelta(seconds=1 / rate) if rate else None
        self._now, self._sleep = now, sleep
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
