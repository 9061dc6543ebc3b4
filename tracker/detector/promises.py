"""Promised dates. Lateness is measured against what the customer was told (the *original* promise, as
AfterShip keeps it); the *current* promise is the best date known now, for the customer and ops.

Sources, strongest first: the store's promise from the ERP, the carrier's date (``dtPrevista``), and an
estimate from posting date + the transit time Zelo has observed for that carrier, service and destination
state (the p80 of delivered shipments, in business days; a configured fallback until enough are seen).
"""

import math
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tracker.calendar import BusinessCalendar
from tracker.detector.config import Thresholds
from tracker.detector.facts import Promise
from tracker.models import shipments_table

RANK = {"estimate": 0, "carrier": 1, "store": 2}
Lane = tuple[str, str | None, str | None]  # carrier, service, destination state


def current(store: date | None, carrier: date | None, estimate: date | None) -> Promise:
    for source, day in (("store", store), ("carrier", carrier), ("estimate", estimate)):
        if day is not None:
            return Promise(day, source)
    return Promise()


def original(stored: Promise, now_known: Promise) -> Promise:
    """The first promise, replaced only by one from a stronger source: an estimate nobody was told gives
    way to the carrier's date, the carrier's to the store's."""
    if now_known.day is None:
        return stored
    if stored.day is None or stored.source is None:
        return now_known
    stronger = RANK[now_known.source or "estimate"] > RANK[stored.source]
    return now_known if stronger else stored


class TransitTimes:
    """Observed transit times per lane, as business-day histograms of delivered shipments."""

    def __init__(self, histograms: dict[Lane, Counter[int]] | None = None) -> None:
        self._histograms = histograms or {}

    @classmethod
    async def load(cls, session: AsyncSession, since: datetime) -> "TransitTimes":
        s = shipments_table.c
        lane = (s.carrier, s.service, s.destination_state, s.transit_business_days)
        query = (
            select(*lane, func.count())
            .where(s.transit_business_days.is_not(None), s.delivered_at >= since)
            .group_by(*lane)
        )
        histograms: dict[Lane, Counter[int]] = defaultdict(Counter)
        for carrier, service, uf, days, n in await session.execute(query):
            histograms[(carrier, service, uf)][days] += n
        return cls(dict(histograms))

    def business_days(self, lane: Lane, t: Thresholds) -> int:
        counts = self._histograms.get(lane)
        total = sum(counts.values()) if counts else 0
        if not counts or total < t.estimate_min_samples:
            return t.estimate_fallback_business_days
        rank, seen = math.ceil(t.estimate_percentile * total), 0
        for days in sorted(counts):
            seen += counts[days]
            if seen >= rank:
                return days
        return max(counts)  # pragma: no cover - rank <= total

    def estimate(self, lane: Lane, posted: date | None, t: Thresholds, calendar: BusinessCalendar) -> date | None:
        if posted is None:
            return None
        return calendar.add_business_days(posted, self.business_days(lane, t), lane[2])


STALE_AFTER = timedelta(hours=1)  # how long a loaded TransitTimes serves before it is read again
TRANSIT_WINDOW = timedelta(days=180)  # delivered shipments this recent make the estimates
