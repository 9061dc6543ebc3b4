"""Rates shared by every process through Redis (scaled mode): one GCRA bucket per key, booked atomically.

A carrier account's requests per second, and a notifier channel's sends, are limits of the contract, not
of a process: N workers must make at most the limit together. Each booking runs one Lua script on Redis,
on Redis's own clock (so workers on several machines agree), and books the next free slot: the caller waits
until it. With ``max_wait``, a slot later than that is not booked and the caller is told how long it would
have waited (the dispatcher puts the message back until then).

If Redis cannot be reached the booking falls back to this process's own spacing for that call and logs it:
a Redis restart slows nothing down and stops nothing, and the limit is kept per process meanwhile.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import structlog
from redis.exceptions import RedisError

log = structlog.get_logger(__name__)

# KEYS[1]: the bucket; ARGV: interval, tolerance and max wait, in microseconds (max wait < 0: no cap).
# Replies {booked (0/1), wait in microseconds}. The bucket keeps its theoretical arrival time (TAT).
BOOK = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval, tolerance, max_wait = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
local start = math.max(tat, now)
local wait = math.max(start - tolerance - now, 0)
if max_wait >= 0 and wait > max_wait then
  return {0, wait}
end
local new_tat = start + interval
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', math.floor((new_tat - now) / 1000) + 1000)
return {1, wait}
"""


@dataclass
class LocalRate:
    """The same bucket kept in this process alone (embedded mode, and a shared bucket's fallback)."""

    per_second: float
    burst: float = 1.0
    monotonic: Callable[[], float] = time.monotonic
    _free_at: float = field(default=float("-inf"), init=False)  # the theoretical arrival time

    def book(self, max_wait: float | None = None) -> tuple[bool, float]:
        """As :meth:`SharedRate.book`, on this process's clock."""
        interval = 1 / self.per_second
        now = self.monotonic()
        start = max(self._free_at, now)
        wait = max(start - _tolerance(self.burst, interval) - now, 0.0)
        if max_wait is not None and wait > max_wait:
            return False, wait
        self._free_at = start + interval
        return True, wait

    def hold(self, seconds: float) -> None:
        """Book nothing before ``seconds`` from now."""
        self._free_at = max(self._free_at, self.monotonic() + seconds)


@dataclass
class SharedRate:
    """At most ``per_second`` bookings a second across every process using ``key``, with a burst of
    ``burst`` bookings (1: evenly spaced, as carriers count)."""

    redis: Any  # a redis.asyncio.Redis
    key: str
    per_second: float
    burst: float = 1.0
    monotonic: Callable[[], float] = time.monotonic
    _script: Any = field(default=None, init=False)
    _local: LocalRate = field(init=False)  # while Redis cannot be reached

    def __post_init__(self) -> None:
        self._local = LocalRate(self.per_second, self.burst, self.monotonic)

    async def book(self, max_wait: float | None = None) -> tuple[bool, float]:
        """Book the next slot: (True, seconds to wait before using it), or (False, seconds until a slot would
        be free) when that is later than ``max_wait``."""
        interval = 1 / self.per_second
        tolerance = _tolerance(self.burst, interval)
        try:
            if self._script is None:
                self._script = self.redis.register_script(BOOK)
            booked, wait_us = await self._script(
                keys=[self.key], args=[_us(interval), _us(tolerance), -1 if max_wait is None else _us(max_wait)]
            )
            return bool(booked), int(wait_us) / 1_000_000
        except (RedisError, OSError) as exc:
            log.warning("shared_rate_unreachable", key=self.key, error=type(exc).__name__)
        return self._local.book(max_wait)

    async def hold(self, seconds: float) -> None:
        """Book nothing for anyone before ``seconds`` from now (the carrier asked every caller to wait)."""
        try:
            await self.redis.eval(HOLD, 1, self.key, _us(seconds))
        except (RedisError, OSError) as exc:
            log.warning("shared_rate_unreachable", key=self.key, error=type(exc).__name__)
        self._local.hold(seconds)


# KEYS[1]: the bucket; ARGV[1]: a pause in microseconds. No slot is booked before now + pause.
HOLD = """
local t = redis.call('TIME')
local hold_end = tonumber(t[1]) * 1000000 + tonumber(t[2]) + tonumber(ARGV[1])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if hold_end > tat then
  redis.call('SET', KEYS[1], string.format("%d", hold_end), 'PX', math.floor(tonumber(ARGV[1]) / 1000) + 1000)
end
return 1
"""


def _tolerance(burst: float, interval: float) -> float:
    """How far ahead of its slot a booking may start: a burst of ``burst`` bookings (at least one)."""
    return (max(burst, 1.0) - 1) * interval


def _us(seconds: float) -> int:
    return round(seconds * 1_000_000)
