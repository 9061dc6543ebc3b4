"""The rules: pure functions from a shipment's facts to findings. No I/O, no clock: ``now`` is given.

Each rule answers "is this kind of trouble present right now, and what triggered it?". The ``trigger``
names the fact that raised it (an event, a promise date, the start of a silence), so a resolved incident
is reopened only by a new trigger, never by the same facts seen again.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from carriers.base import Reason, Status, TrackingEvent
from tracker.calendar import BusinessCalendar
from tracker.detector.config import Thresholds
from tracker.detector.facts import Facts
from tracker.vocabulary import Kind


@dataclass(frozen=True, slots=True)
class Finding:
    kind: Kind
    trigger: str
    evidence: dict[str, Any]
    escalated: bool = False  # the kind's policy says which severity that is
    due_at: datetime | None = None  # a deadline the parcel itself has (pickup)


@dataclass(frozen=True, slots=True)
class Context:
    now: datetime
    calendar: BusinessCalendar
    thresholds: Thresholds
    silence_is_evidence: bool = True  # False while the carrier account is in an outage (the guard)

    def full_business_days(self, f: Facts, start: datetime, end: datetime) -> int:
        """Whole business days that passed between two instants: those after ``start``'s day and before
        ``end``'s (an event at 23:00 and a poll at 01:00 the next morning are zero days apart)."""
        last_whole_day = f.local_date(end) - timedelta(days=1)
        return max(0, self.calendar.business_days_between(f.local_date(start), last_whole_day, f.uf))


Rule = Callable[[Facts, Context], Finding | None]
IN_FLIGHT = frozenset({Status.POSTED, Status.IN_TRANSIT, Status.OUT_FOR_DELIVERY, Status.HELD})
ATTEMPT_REASONS = frozenset({None, Reason.CONSIGNEE_ABSENT, Reason.OTHER})
ADDRESS_REASONS = frozenset({Reason.ADDRESS_PROBLEM, Reason.CONSIGNEE_MOVED, Reason.CONSIGNEE_UNKNOWN})
CUSTOMS_REASONS = frozenset({Reason.CUSTOMS_INSPECTION, Reason.CUSTOMS_TAX_DUE, Reason.CUSTOMS_SEIZED})


def _iso(when: datetime) -> str:
    """Instants in evidence and triggers, always in UTC: the same fact reads the same from any source."""
    return when.astimezone(UTC).isoformat()


def _latest(events: Iterable[TrackingEvent], wanted: Callable[[TrackingEvent], bool]) -> TrackingEvent | None:
    return next((e for e in reversed(list(events)) if wanted(e)), None)


def _from_event(kind: Kind, e: TrackingEvent | None, **extra: Any) -> Finding | None:
    if e is None:
        return None
    event = {"at": _iso(e.occurred_at), "code": e.code, "description": e.description}
    return Finding(kind, f"event:{_iso(e.occurred_at)}/{e.code}", {"event": event, **extra})


def delayed(f: Facts, c: Context) -> Finding | None:
    # a parcel we cannot see (its polls failing, its carrier in an outage) may well have been delivered
    if f.status not in IN_FLIGHT or f.promise.day is None or not (c.silence_is_evidence and f.poll_ok):
        return None
    late = c.calendar.business_days_between(f.promise.day, f.local_date(c.now), f.uf)
    if late < c.thresholds.delay_grace_business_days:
        return None
    evidence = {
        "promised_date": f.promise.day.isoformat(),
        "promise_source": f.promise.source,
        "current_expected_date": f.current_promise.day.isoformat() if f.current_promise.day else None,
        "business_days_late": late,
        "status": f.status.value,
        "last_event_at": _iso(f.last_event_at) if f.last_event_at else None,
    }
    escalated = late >= c.thresholds.delay_escalate_business_days
    return Finding(Kind.DELAYED, f"promise:{f.promise.day.isoformat()}", evidence, escalated)


def delivered_late(f: Facts, c: Context) -> Finding | None:
    if f.status is not Status.DELIVERED or f.delivered_at is None or f.promise.day is None:
        return None
    late = c.calendar.business_days_between(f.promise.day, f.local_date(f.delivered_at), f.uf)
    if late < 1:
        return None
    evidence = {
        "promised_date": f.promise.day.isoformat(),
        "promise_source": f.promise.source,
        "delivered_at": _iso(f.delivered_at),
        "business_days_late": late,
    }
    return Finding(Kind.DELIVERED_LATE, f"delivered:{_iso(f.delivered_at)}", evidence)


def _silent_days(f: Facts, c: Context) -> int | None:
    """Whole business days of silence the carrier has confirmed: from the last event to the last answered poll."""
    if not (c.silence_is_evidence and f.poll_ok and f.last_event_at and f.last_polled_at):
        return None
    return c.full_business_days(f, f.last_event_at, f.last_polled_at)


def stalled(f: Facts, c: Context) -> Finding | None:
    limit = c.thresholds.stalled_business_days.get(f.status)
    silent = _silent_days(f, c) if limit is not None else None
    if silent is None or limit is None or silent < limit:
        return None
    assert f.last_event_at is not None and f.last_polled_at is not None
    evidence = {
        "status": f.status.value,
        "last_event_at": _iso(f.last_event_at),
        "last_polled_at": _iso(f.last_polled_at),
        "silent_business_days": silent,
        "threshold_business_days": limit,
    }
    return Finding(Kind.STALLED, f"silent_since:{_iso(f.last_event_at)}", evidence)


def lost(f: Facts, c: Context) -> Finding | None:
    if f.status is Status.LOST and f.reason is not Reason.CARRIER_STOLEN:
        if f.events is None:  # the sweep: the pipeline raised it from the carrier's event already
            return None
        return _from_event(Kind.LOST, _latest(f.events, lambda e: e.status is Status.LOST), said_by="carrier")
    if f.status not in (Status.POSTED, Status.IN_TRANSIT):
        return None
    silent = _silent_days(f, c)
    if silent is None or silent < c.thresholds.lost_after_silent_business_days:
        return None
    assert f.last_event_at is not None
    evidence = {"said_by": "silence", "last_event_at": _iso(f.last_event_at), "silent_business_days": silent}
    return Finding(Kind.LOST, f"silent_since:{_iso(f.last_event_at)}", evidence)


def not_posted(f: Facts, c: Context) -> Finding | None:
    if f.status is not Status.PENDING or not (c.silence_is_evidence and f.poll_ok and f.last_polled_at):
        return None
    waited = c.full_business_days(f, f.registered_at, f.last_polled_at)
    if waited < c.thresholds.not_posted_business_days:
        return None
    evidence = {
        "registered_at": _iso(f.registered_at),
        "last_polled_at": _iso(f.last_polled_at),
        "business_days_without_posting": waited,
    }
    return Finding(Kind.NOT_POSTED, f"registered:{_iso(f.registered_at)}", evidence)


def awaiting_pickup(f: Facts, c: Context) -> Finding | None:
    if f.status is not Status.AWAITING_PICKUP:
        return None
    since = _iso(f.last_event_at) if f.last_event_at else "unknown"
    if f.events:
        event = _latest(f.events, lambda e: e.status is Status.AWAITING_PICKUP)
        since = _iso(event.occurred_at) if event else since
    evidence: dict[str, Any] = {"available_since": since}
    escalated = False
    if f.pickup_deadline is not None:
        left = c.calendar.business_days_between(f.local_date(c.now), f.local_date(f.pickup_deadline), f.uf)
        evidence |= {"pickup_deadline": _iso(f.pickup_deadline), "business_days_left": left}
        escalated = left <= c.thresholds.pickup_warn_business_days
    return Finding(Kind.AWAITING_PICKUP, f"pickup:{since}", evidence, escalated, f.pickup_deadline)


def returning_to_sender(f: Facts, c: Context) -> Finding | None:
    if f.status not in (Status.RETURNING, Status.RETURNED) or f.events is None:
        return None
    first = next((e for e in f.events if e.status in (Status.RETURNING, Status.RETURNED)), None)
    return _from_event(Kind.RETURNING_TO_SENDER, first, reason=first.reason.value if first and first.reason else None)


def _event_rule(kind: Kind, wanted: Callable[[TrackingEvent], bool], *, until_delivered: bool = False) -> Rule:
    def rule(f: Facts, c: Context) -> Finding | None:
        if f.events is None or (until_delivered and f.status is Status.DELIVERED):
            return None
        matching = [e for e in f.events if wanted(e)]
        return _from_event(kind, matching[-1] if matching else None, occurrences=len(matching))

    rule.__name__ = kind.value
    return rule


failed_attempt = _event_rule(
    Kind.FAILED_ATTEMPT,
    lambda e: e.status is Status.DELIVERY_FAILED and e.reason in ATTEMPT_REASONS,
    until_delivered=True,
)
refused = _event_rule(Kind.REFUSED, lambda e: e.reason is Reason.CONSIGNEE_REFUSED)
address_problem = _event_rule(Kind.ADDRESS_PROBLEM, lambda e: e.reason in ADDRESS_REASONS, until_delivered=True)
damaged = _event_rule(Kind.DAMAGED, lambda e: e.reason is Reason.CARRIER_DAMAGED)


def customs_hold(f: Facts, c: Context) -> Finding | None:
    if f.status is not Status.HELD or f.reason not in CUSTOMS_REASONS or f.events is None:
        return None
    return _from_event(Kind.CUSTOMS_HOLD, _latest(f.events, lambda e: e.status is Status.HELD))


def stolen(f: Facts, c: Context) -> Finding | None:
    if f.status is not Status.LOST or f.reason is not Reason.CARRIER_STOLEN or f.events is None:
        return None
    return _from_event(Kind.STOLEN, _latest(f.events, lambda e: e.reason is Reason.CARRIER_STOLEN))


RULES: dict[Kind, Rule] = {
    Kind.DELAYED: delayed,
    Kind.DELIVERED_LATE: delivered_late,
    Kind.STALLED: stalled,
    Kind.NOT_POSTED: not_posted,
    Kind.FAILED_ATTEMPT: failed_attempt,
    Kind.AWAITING_PICKUP: awaiting_pickup,
    Kind.RETURNING_TO_SENDER: returning_to_sender,
    Kind.REFUSED: refused,
    Kind.ADDRESS_PROBLEM: address_problem,
    Kind.CUSTOMS_HOLD: customs_hold,
    Kind.LOST: lost,
    Kind.STOLEN: stolen,
    Kind.DAMAGED: damaged,
}
# What time alone can bring about: the periodic sweep evaluates these (only to raise or escalate).
TIME_BASED = (Kind.DELAYED, Kind.STALLED, Kind.LOST, Kind.NOT_POSTED, Kind.AWAITING_PICKUP)
# Kinds raised from what the carrier has *not* said: never while its account is in an outage or the
# shipment's own polls are failing (``delayed`` too: the parcel may have been delivered meanwhile).
FROM_SILENCE = frozenset({Kind.STALLED, Kind.NOT_POSTED, Kind.LOST, Kind.DELAYED})


def evaluate(f: Facts, c: Context, kinds: Iterable[Kind] = RULES) -> dict[Kind, Finding]:
    found = {}
    for kind in kinds:
        finding = RULES[kind](f, c)
        if finding is not None:
            found[kind] = finding
    return found
