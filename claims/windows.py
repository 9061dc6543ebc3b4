"""When a claim may be filed, when its window closes, and how late a parcel was: pure date arithmetic.

Correios counts the window in calendar days "from the day after the expected delivery date or the actual
delivery date, whichever comes first" (carriers-brazil.md §3.1) and refuses a claim while the parcel is
still inside its delivery deadline (return code 544). Days are Brasília days: the carrier's, not the
customer's. Delay is measured to the first delivery attempt or the day the parcel was available for pickup,
since either stops the delay clock (return code 530).
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from claims.policy import Policy
from claims.vocabulary import ClaimType
from tracker.calendar import BusinessCalendar

CARRIER_ZONE = ZoneInfo("America/Sao_Paulo")


@dataclass(frozen=True, slots=True)
class ParcelDates:
    """What the windows are computed from, read off the shipment and its events."""

    expected: date | None  # the carrier's delivery deadline (or the store's promise when the carrier gave none)
    delivered_at: datetime | None
    first_attempt_at: datetime | None  # first delivery attempt, pickup availability or delivery
    posted_at: datetime | None
    uf: str | None  # the destination state (business days)


@dataclass(frozen=True, slots=True)
class Window:
    opens_at: datetime
    closes_at: datetime  # the last instant a filing is accepted
    anchor: date | None  # the date the window counts from (expected or delivered, whichever first)

    def is_open(self, now: datetime) -> bool:
        return self.opens_at <= now <= self.closes_at

    def too_early(self, now: datetime) -> bool:
        return now < self.opens_at

    def expired(self, now: datetime) -> bool:
        return now > self.closes_at


def _local_day(at: datetime) -> date:
    return at.astimezone(CARRIER_ZONE).date()


def _start(day: date) -> datetime:
    return datetime.combine(day, time.min, CARRIER_ZONE)


def _end(day: date) -> datetime:
    return datetime.combine(day, time(23, 59, 59), CARRIER_ZONE)


def window(dates: ParcelDates, claim: ClaimType, motivo: int, policy: Policy, calendar: BusinessCalendar) -> Window:
    """The filing window of a claim on this parcel."""
    delivered = _local_day(dates.delivered_at) if dates.delivered_at else None
    candidates = [d for d in (dates.expected, delivered) if d is not None]
    anchor = min(candidates) if candidates else None
    if anchor is None:  # neither a deadline nor a delivery: count from posting, the strictest reading
        anchor = _local_day(dates.posted_at) if dates.posted_at else None
    closes = _end(anchor + timedelta(days=policy.window_for(motivo))) if anchor else _end(date(9999, 12, 30))
    if claim is ClaimType.INFORMATION_REQUEST and delivered is not None:
        opens = _start(delivered)  # "delivered" but not received, or rifled: ask at once
    elif dates.expected is not None:
        first = dates.expected + timedelta(days=1)
        if policy.opens_after_business_days:
            first = calendar.add_business_days(dates.expected, policy.opens_after_business_days, dates.uf)
            first += timedelta(days=1)
        opens = _start(first)
    else:
        opens = _start(anchor) if anchor else datetime.min.replace(tzinfo=CARRIER_ZONE)
    return Window(opens_at=opens, closes_at=closes, anchor=anchor)


def lateness(dates: ParcelDates, policy: Policy, calendar: BusinessCalendar, now: datetime) -> int | None:
    """How late the parcel is, in the policy's unit (business days or minutes), to the first attempt (or now,
    while none happened); 0 when it was on time, None when there is no deadline to be late against."""
    if dates.expected is None:
        return None
    stopped = dates.first_attempt_at or now
    if policy.delay_tier_unit == "minutes":
        deadline = datetime.combine(dates.expected, _deadline_time(policy), CARRIER_ZONE)
        return max(0, int((stopped - deadline).total_seconds() // 60))
    day = _local_day(stopped)
    if day <= dates.expected:
        return 0
    return calendar.business_days_between(dates.expected, day, dates.uf)


def _deadline_time(policy: Policy) -> time:
    hours, minutes = (int(p) for p in policy.deadline_time.split(":"))
    return time(hours, minutes)


def business_days_left(now: datetime, until: datetime, calendar: BusinessCalendar) -> int:
    """Whole business days from ``now`` to ``until`` (negative once passed), in Brasília days."""
    return calendar.business_days_between(_local_day(now), _local_day(until))
