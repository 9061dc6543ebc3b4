"""Scorecards from the rollups: sums over days and groups, percentiles from the summed histograms, and the same
figures for the period of the same length just before (the trend). Never a scan of shipments or events."""

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tracker.metrics.models import DailyMetrics, HistogramMetrics, IncidentMetrics

# group_by names → the rollup columns they group on ("week": the Monday of each day's week)
GROUPS: dict[str, tuple[str, ...]] = {
    "carrier": ("carrier",),
    "service": ("carrier", "service"),
    "route": ("origin_state", "destination_state"),
    "destination_state": ("destination_state",),
    "category": ("category",),
    "week": ("week",),
}
FILTERS = ("carrier", "service", "origin_state", "destination_state", "category")
SUMMED = (
    "shipments", "delivered", "first_attempt", "judged_promise", "on_time_promise", "judged_deadline",
    "on_time_deadline", "late_1", "late_2_3", "late_4_7", "late_8_plus", "notifications_sent", "claims_filed",
    "claims_approved", "claims_denied", "claims_paid", "amount_claimed", "amount_recovered", "rated", "rating_sum",
)  # fmt: skip
TREND = (
    "incidents_per_100", "on_time_promise_pct", "on_time_deadline_pct", "first_attempt_pct", "transit_p50_days",
    "satisfaction",
)  # fmt: skip


@dataclass(frozen=True)
class Query:
    first: date
    last: date
    group_by: tuple[str, ...] = ("carrier",)
    filters: dict[str, str] = field(default_factory=dict)  # FILTERS → value

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c for g in self.group_by for c in GROUPS[g]))

    def previous(self) -> "Query":
        length = self.last - self.first + timedelta(days=1)
        return Query(self.first - length, self.first - timedelta(days=1), self.group_by, self.filters)


@dataclass
class Tally:
    sums: Counter[str] = field(default_factory=Counter)
    opened: Counter[str] = field(default_factory=Counter)  # incidents per kind
    resolved: Counter[str] = field(default_factory=Counter)
    tmr_hours: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    transit: Counter[int] = field(default_factory=Counter)
    tmr: defaultdict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))

    def add(self, other: "Tally") -> None:
        """Count ``other``'s figures in too (groups merged after reading: e.g. carrier × week from carrier ×
        state × week)."""
        self.sums.update(other.sums)
        self.opened.update(other.opened)
        self.resolved.update(other.resolved)
        for kind, hours in other.tmr_hours.items():
            self.tmr_hours[kind] += hours
        self.transit.update(other.transit)
        for kind, histogram in other.tmr.items():
            self.tmr[kind].update(histogram)


Key = tuple[str | None, ...]


def _filtered(query: Select[Any], model: Any, q: Query, first: date, last: date) -> Select[Any]:
    query = query.where(model.day >= first, model.day <= last)
    for name, value in q.filters.items():
        query = query.where(getattr(model, name) == value)
    return query


def _group(model: Any, q: Query) -> list[ColumnElement[Any]]:
    return [getattr(model, "day" if c == "week" else c) for c in q.columns]


def _key(q: Query, values: tuple[Any, ...]) -> Key:
    out: list[str | None] = []
    for column, value in zip(q.columns, values, strict=True):
        if column == "week":
            day = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
            out.append((day - timedelta(days=day.weekday())).isoformat())
        else:
            out.append(value or None)  # '': not known
    return tuple(out)


async def tallies(session: AsyncSession, q: Query, *, histograms: bool = True) -> dict[Key, Tally]:
    """Each group's sums over the period; without ``histograms``, no transit or TMR percentiles (one query
    fewer, for figures that need none)."""
    found: defaultdict[Key, Tally] = defaultdict(Tally)
    n = len(q.columns)
    group = _group(DailyMetrics, q)
    sums = [func.sum(getattr(DailyMetrics, c)) for c in SUMMED]
    daily = _filtered(select(*group, *sums), DailyMetrics, q, q.first, q.last).group_by(*group)
    for row in await session.execute(daily):
        tally = found[_key(q, tuple(row[:n]))]
        for name, value in zip(SUMMED, row[n:], strict=True):
            tally.sums[name] += Decimal(str(value or 0)) if name.startswith("amount") else int(value or 0)  # type: ignore[assignment]
    group = _group(IncidentMetrics, q)
    incidents = _filtered(
        select(*group, IncidentMetrics.kind, func.sum(IncidentMetrics.opened), func.sum(IncidentMetrics.resolved),
               func.sum(IncidentMetrics.tmr_hours)), IncidentMetrics, q, q.first, q.last,
    ).group_by(*group, IncidentMetrics.kind)  # fmt: skip
    for row in await session.execute(incidents):
        tally = found[_key(q, tuple(row[:n]))]
        kind = row[n]
        tally.opened[kind] += int(row[n + 1])
        tally.resolved[kind] += int(row[n + 2])
        tally.tmr_hours[kind] += float(row[n + 3])
    if not histograms:
        return dict(found)
    group = _group(HistogramMetrics, q)
    h = HistogramMetrics
    bucket_sums = _filtered(
        select(*group, h.measure, h.kind, h.bucket, func.sum(h.count)), h, q, q.first, q.last
    ).group_by(*group, h.measure, h.kind, h.bucket)
    for row in await session.execute(bucket_sums):
        tally = found[_key(q, tuple(row[:n]))]
        measure, kind, bucket, count = row[n:]
        (tally.transit if measure == "transit" else tally.tmr[kind])[bucket] += int(count)
    return dict(found)


def percentile(histogram: Counter[int], p: float) -> int | None:
    """The nearest-rank percentile of what the histogram counts (None when it counts nothing)."""
    total = sum(histogram.values())
    if not total:
        return None
    rank, seen = math.ceil(p * total), 0
    for bucket in sorted(histogram):
        seen += histogram[bucket]
        if seen >= rank:
            return bucket
    return max(histogram)  # pragma: no cover (unreachable: the ranks add up to the total)


def _pct(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def figures(t: Tally) -> dict[str, Any]:
    """A group's scorecard figures (see tracker.metrics.schemas.ScorecardRow)."""
    s = t.sums
    shipments = s["shipments"]
    per_100 = {k: round(100.0 * v / shipments, 2) for k, v in sorted(t.opened.items())} if shipments else {}
    resolved = sum(t.resolved.values())
    every_tmr: Counter[int] = sum(t.tmr.values(), Counter())
    decided = s["claims_approved"] + s["claims_denied"]
    return {
        "shipments": shipments,
        "delivered": s["delivered"],
        "incidents_per_100": round(100.0 * sum(t.opened.values()) / shipments, 2) if shipments else None,
        "incidents_per_100_by_kind": per_100,
        "on_time_promise_pct": _pct(s["on_time_promise"], s["judged_promise"]),
        "on_time_deadline_pct": _pct(s["on_time_deadline"], s["judged_deadline"]),
        "first_attempt_pct": _pct(s["first_attempt"], s["delivered"]),
        "late": {"1": s["late_1"], "2-3": s["late_2_3"], "4-7": s["late_4_7"], "8+": s["late_8_plus"]},
        "transit_p50_days": percentile(t.transit, 0.5),
        "transit_p90_days": percentile(t.transit, 0.9),
        "tmr_mean_hours": round(sum(t.tmr_hours.values()) / resolved, 1) if resolved else None,
        "tmr_p90_hours": percentile(every_tmr, 0.9),
        "tmr_by_kind": {
            k: {"mean_hours": round(t.tmr_hours[k] / t.resolved[k], 1), "p90_hours": percentile(t.tmr[k], 0.9)}
            for k in sorted(t.resolved)
            if t.resolved[k]
        },
        "claims_filed": s["claims_filed"],
        "claims_approved": s["claims_approved"],
        "claims_denied": s["claims_denied"],
        "claims_paid": s["claims_paid"],
        "claims_approval_pct": _pct(s["claims_approved"], decided),
        "amount_claimed": Decimal(s["amount_claimed"]).quantize(Decimal("0.01")),
        "amount_recovered": Decimal(s["amount_recovered"]).quantize(Decimal("0.01")),
        "notifications_sent": s["notifications_sent"],
        "satisfaction": round(s["rating_sum"] / s["rated"], 2) if s["rated"] else None,
        "rated": s["rated"],
    }


def trend(now: dict[str, Any], before: dict[str, Any] | None) -> dict[str, float | None]:
    """Each TREND figure's change against the previous period (None where either period has none)."""
    out: dict[str, float | None] = {}
    for name in TREND:
        a, b = now[name], before[name] if before else None
        out[name] = None if a is None or b is None else round(a - b, 2)
    return out


def _week_before(q: Query, key: Key) -> Key:
    at = q.columns.index("week")
    week = date.fromisoformat(str(key[at])) - timedelta(days=7)
    return (*key[:at], week.isoformat(), *key[at + 1 :])


async def scorecard(session: AsyncSession, q: Query) -> list[dict[str, Any]]:
    """One row per group (most shipments first): its group values, figures, and trend."""
    current, previous = await tallies(session, q), await tallies(session, q.previous())
    weekly = "week" in q.columns
    if weekly:  # a week's trend is against the week before it, in the period or just before it
        previous = previous | current
    rows = []
    for key, tally in current.items():
        now = figures(tally)
        then = _week_before(q, key) if weekly else key
        before = figures(previous[then]) if then in previous else None
        rows.append(
            {"group": dict(zip(q.columns, key, strict=True))}
            | now
            | {"previous_shipments": before["shipments"] if before else 0, "trend": trend(now, before)}
        )
    rows.sort(key=lambda r: (-r["shipments"], [v or "" for v in r["group"].values()]))
    return rows
