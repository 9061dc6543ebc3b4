"""The rules on both sides of each threshold, across weekends and holidays, with ``now`` given."""

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carriers.base import Reason, Status, TrackingEvent
from tracker.calendar import BusinessCalendar
from tracker.detector.config import load_rules
from tracker.detector.facts import Facts, Promise
from tracker.detector.rules import FROM_SILENCE, RULES, Context, evaluate
from tracker.vocabulary import Kind

CALENDAR = BusinessCalendar()
RULES_TABLE = load_rules()


def at(day: date, hour: int = 15) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)  # midday in Brasília


def facts(**kw: object) -> Facts:
    base = Facts(
        shipment_id=1,
        carrier_account_id=1,
        carrier="correios",
        service="SEDEX",
        uf="SP",
        status=Status.IN_TRANSIT,
        reason=None,
        registered_at=at(date(2027, 3, 1)),
        last_event_at=at(date(2027, 3, 1)),
        last_polled_at=at(date(2027, 3, 1)),
        poll_ok=True,
        delivered_at=None,
        pickup_deadline=None,
        promise=Promise(),
        current_promise=Promise(),
        events=(),
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def run(kind: Kind, f: Facts, now: datetime, *, guarded: bool = False, calendar: BusinessCalendar = CALENDAR):
    context = Context(now, calendar, RULES_TABLE.thresholds(f.carrier, f.service), silence_is_evidence=not guarded)
    return RULES[kind](f, context)


def event(day: date, status: Status, reason: Reason | None = None, code: str = "BDE-01") -> TrackingEvent:
    return TrackingEvent(at(day), code, status, reason, "evento")


# delayed: one business day past the promise, counted in the destination state's calendar
@pytest.mark.parametrize(
    ("promised", "today", "uf", "late"),
    [
        (date(2027, 3, 5), date(2027, 3, 6), "SP", False),  # Friday → Saturday
        (date(2027, 3, 5), date(2027, 3, 7), "SP", False),  # → Sunday
        (date(2027, 3, 5), date(2027, 3, 8), "SP", True),  # → Monday
        (date(2027, 2, 5), date(2027, 2, 8), "SP", False),  # due the Friday before Carnaval: Monday is closed
        (date(2027, 2, 5), date(2027, 2, 9), "SP", False),  # ... and Tuesday
        (date(2027, 2, 5), date(2027, 2, 10), "SP", True),  # Ash Wednesday opens
        (date(2027, 4, 20), date(2027, 4, 21), "MG", False),  # Tiradentes, national
        (date(2027, 4, 20), date(2027, 4, 22), "MG", True),
        (date(2027, 7, 8), date(2027, 7, 9), "SP", False),  # 9 July closes São Paulo...
        (date(2027, 7, 8), date(2027, 7, 9), "RJ", True),  # ... not Rio de Janeiro
    ],
)
def test_delayed_counts_business_days_of_the_destination(promised: date, today: date, uf: str, late: bool) -> None:
    f = facts(uf=uf, promise=Promise(promised, "store"), last_polled_at=at(today))
    finding = run(Kind.DELAYED, f, at(today))
    assert (finding is not None) is late
    if finding:
        assert finding.evidence["business_days_late"] == 1 and finding.trigger == f"promise:{promised}"


def test_carnaval_can_be_made_a_business_day() -> None:
    f = facts(promise=Promise(date(2027, 2, 5), "store"))
    assert run(Kind.DELAYED, f, at(date(2027, 2, 8)), calendar=BusinessCalendar(extra_closed=())) is not None


def test_delayed_escalates_after_three_business_days_and_ignores_parcels_at_the_door() -> None:
    f = facts(promise=Promise(date(2027, 3, 1), "carrier"))
    assert not run(Kind.DELAYED, f, at(date(2027, 3, 3))).escalated  # type: ignore[union-attr]
    assert run(Kind.DELAYED, f, at(date(2027, 3, 4))).escalated  # type: ignore[union-attr]
    for status in (Status.AWAITING_PICKUP, Status.DELIVERY_FAILED, Status.DELIVERED, Status.PENDING):
        assert run(Kind.DELAYED, replace(f, status=status), at(date(2027, 3, 10))) is None


def test_delivered_late_against_the_original_promise() -> None:
    f = facts(status=Status.DELIVERED, promise=Promise(date(2027, 3, 5), "store"))
    assert run(Kind.DELIVERED_LATE, replace(f, delivered_at=at(date(2027, 3, 6))), at(date(2027, 3, 9))) is None
    late = run(Kind.DELIVERED_LATE, replace(f, delivered_at=at(date(2027, 3, 9))), at(date(2027, 3, 9)))
    assert late is not None and late.evidence["business_days_late"] == 2


@pytest.mark.parametrize(
    ("service", "polled", "stalled"),
    [
        ("SEDEX", date(2027, 3, 4), False),  # last event Monday, polled Thursday: Tue, Wed silent
        ("SEDEX", date(2027, 3, 5), True),  # → Friday: Tue, Wed, Thu
        ("PAC", date(2027, 3, 5), False),  # PAC waits 4 in transit (rules.toml override)
        ("PAC", date(2027, 3, 8), True),  # → Monday: the weekend does not count, Friday does
    ],
)
def test_stalled_by_status_carrier_and_service(service: str, polled: date, stalled: bool) -> None:
    f = facts(service=service, last_event_at=at(date(2027, 3, 1)), last_polled_at=at(polled))
    assert (run(Kind.STALLED, f, at(polled)) is not None) is stalled


def test_silence_is_measured_to_the_last_answered_poll_not_to_now() -> None:
    f = facts(last_event_at=at(date(2027, 3, 1)), last_polled_at=at(date(2027, 3, 2)))
    assert run(Kind.STALLED, f, at(date(2027, 3, 20))) is None  # nobody asked the carrier since Tuesday
    assert (
        run(Kind.STALLED, replace(f, last_polled_at=at(date(2027, 3, 4)), poll_ok=False), at(date(2027, 3, 4))) is None
    )


def test_no_stall_rule_for_parcels_waiting_at_an_agency_or_in_customs() -> None:
    for status in (Status.AWAITING_PICKUP, Status.HELD, Status.DELIVERED):
        f = facts(status=status, last_polled_at=at(date(2027, 4, 30)))
        assert run(Kind.STALLED, f, at(date(2027, 4, 30))) is None


def test_lost_from_fifteen_business_days_of_silence_or_from_the_carrier() -> None:
    f = facts(last_event_at=at(date(2027, 3, 1)))
    assert run(Kind.LOST, replace(f, last_polled_at=at(date(2027, 3, 22))), at(date(2027, 3, 22))) is None  # 14
    silent = run(Kind.LOST, replace(f, last_polled_at=at(date(2027, 3, 23))), at(date(2027, 3, 23)))
    assert silent is not None and silent.evidence["said_by"] == "silence"
    said = facts(status=Status.LOST, reason=Reason.CARRIER_LOST, events=(event(date(2027, 3, 2), Status.LOST),))
    finding = run(Kind.LOST, said, at(date(2027, 3, 2)))
    assert finding is not None and finding.evidence["said_by"] == "carrier"


def test_not_posted_after_two_whole_business_days_of_answered_polls() -> None:
    f = facts(status=Status.PENDING, last_event_at=None, registered_at=at(date(2027, 3, 5)))  # a Friday
    assert run(Kind.NOT_POSTED, replace(f, last_polled_at=at(date(2027, 3, 9))), at(date(2027, 3, 9))) is None
    assert run(Kind.NOT_POSTED, replace(f, last_polled_at=at(date(2027, 3, 10))), at(date(2027, 3, 10))) is not None


def test_awaiting_pickup_escalates_two_business_days_before_its_deadline() -> None:
    f = facts(status=Status.AWAITING_PICKUP, pickup_deadline=at(date(2027, 3, 12)))  # a Friday
    early = run(Kind.AWAITING_PICKUP, f, at(date(2027, 3, 9)))
    near = run(Kind.AWAITING_PICKUP, f, at(date(2027, 3, 10)))
    assert early is not None and not early.escalated and early.due_at == at(date(2027, 3, 12))
    assert near is not None and near.escalated and near.evidence["business_days_left"] == 2


def test_event_rules_name_the_event_that_raised_them() -> None:
    day = date(2027, 3, 2)
    absent = event(day, Status.DELIVERY_FAILED, Reason.CONSIGNEE_ABSENT, "BDE-20")
    cases = {
        Kind.FAILED_ATTEMPT: facts(status=Status.DELIVERY_FAILED, events=(absent,)),
        Kind.REFUSED: facts(status=Status.RETURNING, events=(event(day, Status.RETURNING, Reason.CONSIGNEE_REFUSED),)),
        Kind.ADDRESS_PROBLEM: facts(events=(event(day, Status.DELIVERY_FAILED, Reason.ADDRESS_PROBLEM),)),
        Kind.DAMAGED: facts(status=Status.DELIVERED, events=(event(day, Status.IN_TRANSIT, Reason.CARRIER_DAMAGED),)),
        Kind.CUSTOMS_HOLD: facts(
            status=Status.HELD, reason=Reason.CUSTOMS_TAX_DUE, events=(event(day, Status.HELD, Reason.CUSTOMS_TAX_DUE),)
        ),
        Kind.STOLEN: facts(
            status=Status.LOST, reason=Reason.CARRIER_STOLEN, events=(event(day, Status.LOST, Reason.CARRIER_STOLEN),)
        ),
        Kind.RETURNING_TO_SENDER: facts(status=Status.RETURNED, events=(event(day, Status.RETURNING),)),
    }
    for kind, f in cases.items():
        found = evaluate(f, Context(at(day), CALENDAR, RULES_TABLE.thresholds("correios", "SEDEX")))
        assert kind in found, kind
        assert found[kind].trigger.startswith(f"event:{at(day).isoformat()}")
    delivered = facts(status=Status.DELIVERED, events=(absent, event(date(2027, 3, 3), Status.DELIVERED)))
    assert run(Kind.FAILED_ATTEMPT, delivered, at(day)) is None  # over once delivered


statuses = st.sampled_from(list(Status))
days = st.dates(min_value=date(2026, 1, 1), max_value=date(2028, 12, 31))


@settings(deadline=None, max_examples=300)
@given(status=statuses, last=days, polled_after=st.integers(0, 60), promise=days, pending_since=days)
def test_nothing_is_raised_from_silence_during_an_outage(
    status: Status, last: date, polled_after: int, promise: date, pending_since: date
) -> None:
    f = facts(
        status=status,
        last_event_at=at(last),
        last_polled_at=at(last + timedelta(days=polled_after)),
        registered_at=at(pending_since),
        promise=Promise(promise, "store"),
    )
    now = at(last + timedelta(days=polled_after))
    context = Context(now, CALENDAR, RULES_TABLE.thresholds("correios", "PAC"), silence_is_evidence=False)
    found = evaluate(f, context, FROM_SILENCE)
    assert not found or (set(found) == {Kind.LOST} and status is Status.LOST)  # only the carrier's own word
