"""Per-channel send rate: a virtual-scheduling limiter (GCRA) with a burst of one second's worth.

Each send books the next free slot. A slot within ``max_wait`` is waited for; a later one is not booked,
and the caller puts the message back until then (the dispatcher keeps its lease short that way)."""

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field


@dataclass
class RateLimit:
    per_second: float
    max_wait: float = 1.0
    monotonic: Callable[[], float] = time.monotonic
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    _free_at: float = field(default=float("-inf"), init=False)  # when the bucket would be empty again

    @property
    def _burst(self) -> float:
        return max(self.per_second, 1.0) / self.per_second  # seconds of credit: one second's sends, at least one

    async def acquire(self) -> float | None:
        """Wait for a slot and take it (None), or, when none frees within ``max_wait``, the seconds until one
        does, taking nothing."""
        now = self.monotonic()
        start = max(self._free_at, now)
        wait = start + 1 / self.per_second - self._burst - now
        if wait > self.max_wait:
            return wait
        self._free_at = start + 1 / self.per_second
        if wait > 0:
            await self.sleep(wait)
        return None
