"""The notifier's policy table (``triggers.toml``): triggers on or off, channels, the severities that alert
ops (and which wait for the digest), quiet hours, the daily cap and what it never holds back, rates, digest
rounds and fallbacks."""

import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from notifier.vocabulary import Channel, Trigger
from tracker.vocabulary import Severity

POLICY_FILE = Path(__file__).with_name("triggers.toml")
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class TriggerPolicy:
    enabled: bool
    channels: tuple[Channel, ...]
    min_severity: Severity | None = None  # ops: incidents less severe alert nobody
    at_once_severity: Severity | None = None  # ops: less severe ones wait for the digest (when one is configured)


@dataclass(frozen=True)
class Policy:
    triggers: dict[Trigger, TriggerPolicy]
    quiet_hours: dict[Channel, tuple[time, time]]
    daily_cap: int
    checkin_after: timedelta
    rate_limits: dict[Channel, float] = field(default_factory=dict)  # messages per second
    digest: dict[Channel, timedelta] = field(default_factory=dict)  # round length
    fallback: dict[Channel, Channel] = field(default_factory=dict)
    uncapped: frozenset[Trigger] = frozenset()  # customer messages the daily cap never holds back nor counts

    def channels(self, trigger: Trigger) -> tuple[Channel, ...]:
        p = self.triggers.get(trigger)
        return p.channels if p and p.enabled else ()

    def due(self, channel: Channel, now: datetime) -> datetime:
        """When a message queued now goes out: at once, or at the end of its digest round."""
        every = self.digest.get(channel)
        if every is None:
            return now
        rounds = -((_EPOCH - now) // every)  # ceiling: a message queued on a boundary goes on it
        return _EPOCH + rounds * every


def parse_policy(data: dict[str, Any], source: str = POLICY_FILE.name) -> Policy:
    triggers = {}
    for name, raw in data.get("triggers", {}).items():
        where = f"{source} [triggers.{name}]"
        try:
            trigger = Trigger(name)
            channels = tuple(Channel(c) for c in raw.get("channels", []))
        except ValueError as exc:
            raise ValueError(
                f"{where}: {exc}; expected triggers {[t.value for t in Trigger]} and channels "
                f"{[c.value for c in Channel]}"
            ) from None
        floor, at_once = (_severity(where, raw, key) for key in ("min_severity", "at_once_severity"))
        triggers[trigger] = TriggerPolicy(bool(raw.get("enabled", True)), channels, floor, at_once)
    quiet = {c: (time.fromisoformat(a), time.fromisoformat(b)) for c, (a, b) in _table(data, "quiet_hours", source)}
    limits = {c: _positive(source, "rate_limits", c, v) for c, v in _table(data, "rate_limits", source)}
    digest = {c: timedelta(minutes=_positive(source, "digest", c, v)) for c, v in _table(data, "digest", source)}
    fallback = {c: _channel(source, "fallback", v) for c, v in _table(data, "fallback", source)}
    checkin_after = timedelta(hours=float(data["checkin_after_hours"]))
    try:
        uncapped = frozenset(Trigger(t) for t in data.get("uncapped", []))
    except ValueError as exc:
        raise ValueError(f"{source} uncapped: {exc}; expected triggers {[t.value for t in Trigger]}") from None
    return Policy(triggers, quiet, int(data["daily_cap"]), checkin_after, limits, digest, fallback, uncapped)


def _severity(where: str, raw: dict[str, Any], key: str) -> Severity | None:
    if key not in raw:
        return None
    try:
        return Severity(raw[key])
    except ValueError:
        raise ValueError(
            f"{where} {key} = {raw[key]!r}: not a severity; expected one of {[s.value for s in Severity]}"
        ) from None


def _table(data: dict[str, Any], name: str, source: str = POLICY_FILE.name) -> list[tuple[Channel, Any]]:
    """The rows of a per-channel table, each keyed by a known channel."""
    return [(_channel(source, name, key), value) for key, value in data.get(name, {}).items()]


def _channel(source: str, table: str, name: Any) -> Channel:
    try:
        return Channel(name)
    except ValueError:
        raise ValueError(
            f"{source} [{table}] {name!r}: not a channel; expected one of {[c.value for c in Channel]}"
        ) from None


def _positive(source: str, table: str, key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ValueError(f"{source} [{table}] {key} = {value!r}: expected a number above 0")
    return float(value)


@cache
def load_policy(path: Path = POLICY_FILE) -> Policy:
    return parse_policy(tomllib.loads(path.read_text(encoding="utf-8")), path.name)
