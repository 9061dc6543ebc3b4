"""When to poll a shipment next: pure functions over the cadence table in ``cadence.toml``."""

import random
import tomllib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from carriers.base import Status

TABLE = Path(__file__).with_name("cadence.toml")
MOVING = frozenset({Status.POSTED, Status.IN_TRANSIT, Status.RETURNING})


@dataclass(frozen=True, slots=True)
class Cadence:
    jitter: float
    retire_after: timedelta
    final_recheck: timedelta
    near_promise: timedelta
    near_promise_every: timedelta
    error_backoff: timedelta
    error_backoff_max: timedelta
    by_status: dict[Status, timedelta]
    night_zone: ZoneInfo
    night: tuple[int, int]  # [starts, ends) hours of the day, in ``night_zone``
    night_spread: timedelta


@cache
def cadence(path: Path = TABLE) -> Cadence:
    data = tomllib.loads(path.read_text())
    minutes = data["status_minutes"]
    missing = [s.value for s in Status if s not in (Status.DELIVERED, Status.RETURNED) and s.value not in minutes]
    if missing:
        raise ValueError(f"{path}: [status_minutes] lacks {', '.join(missing)}")
    return Cadence(
        jitter=float(data["jitter"]),
        retire_after=timedelta(days=data["retire_after_days"]),
        final_recheck=timedelta(minutes=data["final_recheck_minutes"]),
        near_promise=timedelta(days=data["near_promise_days"]),
        near_promise_every=timedelta(minutes=data["near_promise_minutes"]),
        error_backoff=timedelta(minutes=data["error_backoff_minutes"]),
        error_backoff_max=timedelta(minutes=data["error_backoff_max_minutes"]),
        by_status={Status(k): timedelta(minutes=v) for k, v in minutes.items()},
        night_zone=ZoneInfo(data["night"]["zone"]),
        night=(int(data["night"]["starts"]), int(data["night"]["ends"])),
        night_spread=timedelta(minutes=data["night"]["spread_minutes"]),
    )


@dataclass(frozen=True, slots=True)
class NextPoll:
    at: datetime | None  # None: stop polling
    stopped: str | None = None  # why polling stopped: final | retired


def next_poll(
    *,
    status: Status,
    now: datetime,
    tracked_since: datetime,
    expected: date | None,
    became_final: bool,
    rng: random.Random,
    table: Cadence | None = None,
) -> NextPoll:
    """The next poll after a successful one."""
    c = table or cadence()
    if retired(now=now, tracked_since=tracked_since, table=c):
        return NextPoll(None, "retired")
    if status.is_final:
        return NextPoll(_jittered(now, c.final_recheck, c, rng)) if became_final else NextPoll(None, "final")
    every = c.by_status[status]
    if status in MOVING and expected is not None and expected - now.date() <= c.near_promise:
        every = min(every, c.near_promise_every)
    return NextPoll(by_day(_jittered(now, every, c, rng), c, rng))


def by_day(at: datetime, c: Cadence, rng: random.Random) -> datetime:
    """``at``, or if it falls in the carriers' night, a moment spread over the start of the morning after."""
    local = at.astimezone(c.night_zone)
    starts, ends = c.night
    if not starts <= local.hour < ends:
        return at
    morning = local.replace(hour=ends, minute=0, second=0, microsecond=0)
    return (morning + c.night_spread * rng.random()).astimezone(at.tzinfo)


def retired(*, now: datetime, tracked_since: datetime, table: Cadence | None = None) -> bool:
    """Past ``retire_after``: polling stops, whether the polls succeed or keep failing."""
    return now - tracked_since >= (table or cadence()).retire_after


def after_error(*, now: datetime, error_count: int, rng: random.Random, table: Cadence | None = None) -> datetime:
    """The next try after ``error_count`` consecutive failed polls (exponential, capped, jittered)."""
    c = table or cadence()
    delay = min(c.error_backoff_max, c.error_backoff * 2 ** min(max(0, error_count - 1), 30))
    return _jittered(now, delay, c, rng)


def _jittered(now: datetime, every: timedelta, c: Cadence, rng: random.Random) -> datetime:
    return now + every * (1 + rng.uniform(-c.jitter, c.jitter))
