"""Call-level retries for transient carrier faults: exponential backoff, full jitter, ``Retry-After``.

A wait longer than ``max_wait`` is not slept here: the fault is raised so the poller reschedules the
batch instead of holding a worker.
"""

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TypeVar

from carriers.base.errors import RateLimited, TransientError

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 8.0
    max_wait: float = 30.0


DEFAULT_RETRY = RetryPolicy()


def backoff(attempt: int, policy: RetryPolicy, rng: random.Random) -> float:
    """Full-jitter exponential delay before retry number ``attempt`` (1-based)."""
    return rng.uniform(0, min(policy.max_delay, policy.base_delay * 2 ** (attempt - 1)))


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP-date); None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000" means UTC with no stated zone
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


async def with_retries(
    call: Callable[[], Awaitable[T]],
    *,
    sleep: Callable[[float], Awaitable[None]],
    policy: RetryPolicy = DEFAULT_RETRY,
    rng: random.Random | None = None,
) -> T:
    rng = rng or random.Random()
    for attempt in range(1, policy.attempts + 1):
        try:
            return await call()
        except TransientError as exc:
            if attempt == policy.attempts:
                raise
            delay = backoff(attempt, policy, rng)
            if isinstance(exc, RateLimited) and exc.retry_after is not None:
                delay = exc.retry_after
            if delay > policy.max_wait:
                raise
            await sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover
