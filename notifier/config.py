"""The notifier's policy table (``triggers.toml``): triggers on or off, channels, quiet hours, caps."""

import tomllib
from dataclasses import dataclass
from datetime import time, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from notifier.vocabulary import Channel, Trigger
from tracker.detector.vocabulary import Severity

POLICY_FILE = Path(__file__).with_name("triggers.toml")


@dataclass(frozen=True, slots=True)
class TriggerPolicy:
    enabled: bool
    channels: tuple[Channel, ...]
    min_severity: Severity | None = None


@dataclass(frozen=True)
class Policy:
    triggers: dict[Trigger, TriggerPolicy]
    quiet_hours: dict[Channel, tuple[time, time]]
    daily_cap: int
    checkin_after: timedelta

    def channels(self, trigger: Trigger) -> tuple[Channel, ...]:
        p = self.triggers.get(trigger)
        return p.channels if p and p.enabled else ()


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
        severity = Severity(raw["min_severity"]) if "min_severity" in raw else None
        triggers[trigger] = TriggerPolicy(bool(raw.get("enabled", True)), channels, severity)
    quiet = {}
    for channel, (start, end) in data.get("quiet_hours", {}).items():
        quiet[Channel(channel)] = (time.fromisoformat(start), time.fromisoformat(end))
    return Policy(triggers, quiet, int(data["daily_cap"]), timedelta(hours=float(data["checkin_after_hours"])))


@cache
def load_policy(path: Path = POLICY_FILE) -> Policy:
    return parse_policy(tomllib.loads(path.read_text(encoding="utf-8")), path.name)
