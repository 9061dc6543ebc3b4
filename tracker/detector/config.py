"""The detector's rules table (``rules.toml``): thresholds per carrier and service, policies per kind."""

import tomllib
from dataclasses import dataclass, field, fields, replace
from functools import cache
from pathlib import Path
from typing import Any, Literal

from carriers.base import Status
from tracker.vocabulary import Kind, Severity

RULES_FILE = Path(__file__).with_name("rules.toml")


@dataclass(frozen=True, slots=True)
class Thresholds:
    delay_grace_business_days: int
    delay_escalate_business_days: int
    not_posted_business_days: int
    lost_after_silent_business_days: int
    pickup_warn_business_days: int
    estimate_fallback_business_days: int
    estimate_min_samples: int
    estimate_percentile: float
    stalled_business_days: dict[Status, int]


@dataclass(frozen=True, slots=True)
class KindPolicy:
    severity: Severity
    escalates_to: Severity | None
    owner: str
    triage_business_hours: float
    next_action: str
    resolve: Literal["when_clear", "never"]

    @property
    def top_severity(self) -> Severity:
        return self.escalates_to or self.severity


@dataclass
class Rules:
    default: Thresholds
    overrides: dict[tuple[str, str | None], dict[str, Any]]
    kinds: dict[Kind, KindPolicy]
    _merged: dict[tuple[str, str | None], Thresholds] = field(default_factory=dict, repr=False)

    def thresholds(self, carrier: str, service: str | None) -> Thresholds:
        merged = self._merged.get((carrier, service))
        if merged is None:
            merged = self.default
            for key in ((carrier, None), (carrier, service)):
                if key in self.overrides:
                    merged = replace(merged, **_thresholds_fields(self.overrides[key], f"{key}"))
            self._merged[(carrier, service)] = merged
        return merged

    def minimum(self, name: str) -> int:
        """The smallest value of an integer threshold across every carrier and service (sweep pre-filters)."""
        values = [getattr(self.default, name)] + [o[name] for o in self.overrides.values() if name in o]
        return int(min(values))

    def min_stalled(self) -> dict[Status, int]:
        tables = [self.default.stalled_business_days] + [
            _stalled(o["stalled_business_days"]) for o in self.overrides.values() if "stalled_business_days" in o
        ]
        statuses = set().union(*tables)
        return {s: min(t[s] for t in tables if s in t) for s in statuses}


def _stalled(table: dict[str, int]) -> dict[Status, int]:
    return {Status(k): int(v) for k, v in table.items()}


def _thresholds_fields(raw: dict[str, Any], where: str) -> dict[str, Any]:
    known = {f.name for f in fields(Thresholds)}
    unknown = set(raw) - known
    if unknown:
        raise ValueError(f"{RULES_FILE.name} {where}: unknown threshold(s) {sorted(unknown)}; known: {sorted(known)}")
    out = dict(raw)
    if "stalled_business_days" in out:
        out["stalled_business_days"] = _stalled(out["stalled_business_days"])
    return out


def parse_rules(data: dict[str, Any]) -> Rules:
    default = Thresholds(**_thresholds_fields(data["thresholds"], "[thresholds]"))
    overrides: dict[tuple[str, str | None], dict[str, Any]] = {}
    for carrier, table in data.get("carriers", {}).items():
        services = table.get("services", {})
        own = {k: v for k, v in table.items() if k != "services"}
        if own:
            _thresholds_fields(own, f"[carriers.{carrier}]")
            overrides[(carrier, None)] = own
        for service, values in services.items():
            _thresholds_fields(values, f"[carriers.{carrier}.services.{service}]")
            overrides[(carrier, service)] = values
    kinds = {}
    for kind in Kind:
        raw = data["kinds"].get(kind.value)
        if raw is None:
            raise ValueError(f"{RULES_FILE.name}: no [kinds.{kind.value}] policy; every incident kind needs one")
        kinds[kind] = KindPolicy(
            severity=Severity(raw["severity"]),
            escalates_to=Severity(raw["escalates_to"]) if "escalates_to" in raw else None,
            owner=raw["owner"],
            triage_business_hours=float(raw["triage_business_hours"]),
            next_action=raw["next_action"],
            resolve=raw["resolve"],
        )
    return Rules(default, overrides, kinds)


@cache
def load_rules(path: Path = RULES_FILE) -> Rules:
    return parse_rules(tomllib.loads(path.read_text(encoding="utf-8")))
