"""Per-channel send rate: a virtual-scheduling limiter (GCRA) with a burst of one second's worth.

Each send books the next free slot. A slot within ``max_wait`` is waited for; a later one is not booked,
and the caller puts the message back until then (the dispatcher keeps its lease short that way). In scaled
mode the bucket is in Redis (``shared``), so every worker's sends on a channel count against one limit."""

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from tracker.limits import LocalRate, SharedRate


@dataclass
class RateLimit:
    per_second: float
    max_wait: float = 1.0
    monotonic: Callable[[], float] = time.monotonic
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    shared: SharedRate | None = None
    _local: LocalRate = field(init=False)

    def __post_init__(self) -> None:  # a burst of one second's sends, at least one
        self._local = LocalRate(self.per_second, max(self.per_second, 1.0), self.monotonic)

    async def acquire(self) -> float | None:
        """Wait for a slot and take it (None), or, when none frees within ``max_wait``, the seconds until one
        does, taking nothing."""
        if self.shared is not None:
            booked, wait = await self.shared.book(self.max_wait)
        else:
            booked, wait = self._local.book(self.max_wait)
        if not booked:
            return wait
        if wait > 0:
            await self.sleep(wait)
        return None
