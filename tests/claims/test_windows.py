"""Claim windows and delay arithmetic on both sides of every boundary, on Brasília days."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from claims.policy import load_policies
from claims.vocabulary import ClaimType
from claims.windows import ParcelDates, business_days_left, lateness, window
from tracker.calendar import BusinessCalendar

BRT = ZoneInfo("America/Sao_Paulo")
CAL = BusinessCalendar()
POLICIES = load_policies()
PAC = POLICIES.for_shipment("correios", "PAC")
SEDEX10 = POLICIES.for_shipment("correios", "SEDEX 10")


def at(day: date, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=BRT)


def dates(expected: date | None, delivered: datetime | None = None, attempt: datetime | None = None) -> ParcelDates:
    return ParcelDates(expected, delivered, attempt or delivered, at(date(2026, 10, 1)), "SP")


def test_refund_window_opens_the_day_after_the_deadline_never_inside_it() -> None:
    w = window(dates(date(2026, 11, 13)), ClaimType.REFUND, 135, PAC, CAL)
    assert w.too_early(at(date(2026, 11, 13), 23, 59))  # still the deadline day: Correios answers 544
    assert w.is_open(at(date(2026, 11, 14), 0, 0))


def test_window_closes_30_calendar_days_after_the_expected_date_across_a_month_end() -> None:
    w = window(dates(date(2026, 11, 13)), ClaimType.INDEMNITY, 211, PAC, CAL)
    assert w.is_open(at(date(2026, 12, 13), 23, 59))  # day 30 counted from the day after: still open
    assert w.expired(at(date(2026, 12, 14), 0, 0))


def test_the_earlier_of_expected_and_delivered_anchors_the_window() -> None:
    early = window(dates(date(2026, 11, 20), delivered=at(date(2026, 11, 10))), ClaimType.INDEMNITY, 134, PAC, CAL)
    assert early.anchor == date(2026, 11, 10)
    late = window(dates(date(2026, 11, 20), delivered=at(date(2026, 11, 25))), ClaimType.REFUND, 135, PAC, CAL)
    assert late.anchor == date(2026, 11, 20)
    assert late.closes_at.date() == date(2026, 12, 20)


def test_a_90_day_motivo_is_configuration() -> None:
    from dataclasses import replace

    policy = replace(PAC, window_days_by_motivo={211: 90})
    w = window(dates(date(2026, 11, 13)), ClaimType.INDEMNITY, 211, policy, CAL)
    assert w.closes_at.date() == date(2026, 11, 13) + timedelta(days=90)
    assert window(dates(date(2026, 11, 13)), ClaimType.REFUND, 135, policy, CAL).closes_at.date() == date(2026, 12, 13)


def test_information_request_on_a_delivered_parcel_opens_at_delivery() -> None:
    w = window(
        dates(date(2026, 11, 20), delivered=at(date(2026, 11, 10), 15)), ClaimType.INFORMATION_REQUEST, 132, PAC, CAL
    )
    assert w.is_open(at(date(2026, 11, 10), 16))


def test_days_are_brasilia_days_not_utc() -> None:
    # 23:30 in Brasília on the deadline is already the next day in UTC: still too early
    w = window(dates(date(2026, 11, 13)), ClaimType.REFUND, 135, PAC, CAL)
    assert w.too_early(datetime(2026, 11, 14, 2, 30, tzinfo=UTC))


def test_lateness_counts_business_days_skipping_weekends_and_holidays() -> None:
    expected = date(2026, 11, 13)  # a Friday; 15/11 (Sunday) and 20/11 (Consciência Negra) are closed
    assert lateness(dates(expected, attempt=at(date(2026, 11, 13), 18)), PAC, CAL, at(date(2026, 12, 1))) == 0
    assert lateness(dates(expected, attempt=at(date(2026, 11, 16))), PAC, CAL, at(date(2026, 12, 1))) == 1
    assert lateness(dates(expected, attempt=at(date(2026, 11, 23))), PAC, CAL, at(date(2026, 12, 1))) == 5


def test_lateness_stops_at_the_first_attempt_and_runs_on_while_there_is_none() -> None:
    expected = date(2026, 11, 13)
    assert lateness(dates(expected), PAC, CAL, at(date(2026, 11, 17))) == 2
    assert lateness(dates(None), PAC, CAL, at(date(2026, 11, 17))) is None


@pytest.mark.parametrize(("hour", "minute", "late"), [(10, 0, 0), (10, 15, 15), (10, 59, 59), (11, 0, 60), (9, 30, 0)])
def test_same_day_services_are_late_by_minutes_after_their_hour(hour: int, minute: int, late: int) -> None:
    expected = date(2026, 11, 13)
    got = lateness(dates(expected, attempt=at(expected, hour, minute)), SEDEX10, CAL, at(date(2026, 12, 1)))
    assert got == late


def test_business_days_left_is_negative_once_passed() -> None:
    friday = at(date(2026, 11, 13))
    assert business_days_left(friday, at(date(2026, 11, 17)), CAL) == 2  # Monday 16, Tuesday 17
    assert business_days_left(at(date(2026, 11, 17)), friday, CAL) == -2
