"""Business days and hours: weekends, national and state holidays, Carnival, two time zones, and the
arithmetic properties the detector relies on."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.calendar import UFS, BusinessCalendar, timezone_of

CAL = BusinessCalendar()
OPEN_CARNIVAL = BusinessCalendar(extra_closed=())
SP, MANAUS = ZoneInfo("America/Sao_Paulo"), ZoneInfo("America/Manaus")

dates = st.dates(date(2015, 1, 1), date(2035, 12, 31))
ufs = st.sampled_from([None, *sorted(UFS)])


def naive_is_business_day(day: date, uf: str | None) -> bool:
    return day.weekday() < 5 and day not in CAL.holidays(day.year, uf)


def test_ufs_and_time_zones() -> None:
    assert len(UFS) == 27 and {"SP", "AM", "DF"} <= UFS
    assert timezone_of("AM") == MANAUS and timezone_of("AC") == ZoneInfo("America/Rio_Branco")
    assert timezone_of("RN") == ZoneInfo("America/Fortaleza") and timezone_of("TO") == ZoneInfo("America/Araguaina")
    assert timezone_of(None) == SP and timezone_of("XX") == SP


def test_weekends_are_closed() -> None:
    assert CAL.is_business_day(date(2027, 3, 5))  # Friday
    assert not CAL.is_business_day(date(2027, 3, 6)) and not CAL.is_business_day(date(2027, 3, 7), "SP")
    assert CAL.add_business_days(date(2027, 3, 5), 1) == date(2027, 3, 8)
    assert CAL.business_days_between(date(2027, 3, 5), date(2027, 3, 8)) == 1


def test_national_holidays() -> None:
    assert not CAL.is_business_day(date(2027, 4, 21))  # Tiradentes, a Wednesday
    assert not CAL.is_business_day(date(2026, 12, 25), "AM")  # Christmas, a Friday
    assert CAL.holidays(2027)[date(2027, 4, 21)] == "Tiradentes"
    assert CAL.holidays(2026, "AM")[date(2026, 12, 25)] == "Natal"


def test_a_state_holiday_closes_only_its_state() -> None:
    constitutionalist_revolution = date(2027, 7, 9)  # a Friday
    assert not CAL.is_business_day(constitutionalist_revolution, "SP")
    assert CAL.is_business_day(constitutionalist_revolution, "RJ") and CAL.is_business_day(constitutionalist_revolution)
    assert CAL.holidays(2027, "SP")[constitutionalist_revolution] == "Revolução Constitucionalista"
    assert constitutionalist_revolution not in CAL.holidays(2027)


def test_carnival_is_closed_by_default_and_configurable() -> None:
    monday, tuesday, ash_wednesday = date(2027, 2, 8), date(2027, 2, 9), date(2027, 2, 10)
    assert CAL.holidays(2027)[monday] == CAL.holidays(2027)[tuesday] == "Carnaval"
    assert not CAL.is_business_day(monday) and not CAL.is_business_day(tuesday, "SP")
    assert CAL.is_business_day(ash_wednesday)
    assert OPEN_CARNIVAL.is_business_day(monday) and OPEN_CARNIVAL.is_business_day(tuesday, "SP")
    assert monday not in OPEN_CARNIVAL.holidays(2027)
    # Rio de Janeiro makes Carnival Tuesday a state holiday (Lei 5243/2008): closed there either way.
    assert OPEN_CARNIVAL.is_business_day(monday, "RJ") and not OPEN_CARNIVAL.is_business_day(tuesday, "RJ")


def test_other_optional_holidays_can_be_named_in_english_or_portuguese() -> None:
    cal = BusinessCalendar(extra_closed=["Carnaval", "corpus christi", "Véspera de Natal"])
    assert not cal.is_business_day(date(2027, 5, 27)) and not cal.is_business_day(date(2027, 12, 24))
    assert not cal.is_business_day(date(2027, 2, 9))
    assert CAL.is_business_day(date(2027, 5, 27)) and CAL.is_business_day(date(2027, 12, 24))
    with pytest.raises(ValueError, match=r"extra_closed \['carnavale'\] names no optional holiday: expected some of"):
        BusinessCalendar(extra_closed=("carnavale",))


def test_a_parcel_due_the_day_before_carnival() -> None:
    due = date(2027, 2, 5)  # the Friday before Carnival
    assert CAL.add_business_days(date(2027, 2, 4), 1) == due
    assert CAL.add_business_days(due, 1) == date(2027, 2, 10)
    assert OPEN_CARNIVAL.add_business_days(due, 1) == date(2027, 2, 8)
    # Checked on Ash Wednesday: one business day late, not three.
    assert CAL.business_days_between(due, date(2027, 2, 10)) == 1
    assert OPEN_CARNIVAL.business_days_between(due, date(2027, 2, 10)) == 3
    assert CAL.business_days_between(due, date(2027, 2, 9)) == 0


def test_between_across_a_weekend_and_a_holiday() -> None:
    tuesday, next_monday = date(2027, 4, 20), date(2027, 4, 26)  # Wed 21 is Tiradentes
    assert CAL.business_days_between(tuesday, next_monday) == 3  # Thu, Fri, Mon
    assert CAL.business_days_between(tuesday, next_monday, "RJ") == 2  # Fri 23 is São Jorge in RJ
    assert CAL.business_days_between(next_monday, tuesday) == -3
    assert CAL.business_days_between(tuesday, tuesday) == 0


def test_add_business_days_zero_and_backwards() -> None:
    assert CAL.add_business_days(date(2027, 4, 20), 0) == date(2027, 4, 20)
    assert CAL.add_business_days(date(2027, 4, 21), 0) == date(2027, 4, 22)
    assert CAL.add_business_days(date(2027, 4, 22), -1) == date(2027, 4, 20)
    assert CAL.add_business_days(date(2027, 4, 24), -1) == date(2027, 4, 23)  # from a Saturday


def test_far_dates_grow_the_window() -> None:
    cal = BusinessCalendar()
    assert cal.add_business_days(date(2027, 1, 4), 2500, "MG") > date(2036, 1, 1)
    assert cal.add_business_days(date(2027, 1, 4), -2500, "MG") < date(2018, 1, 1)
    assert cal.business_days_between(date(1995, 1, 2), date(2060, 1, 3), "MG") > 16000
    with pytest.raises(ValueError, match=r"outside the calendar's 1900\.\.2200"):
        cal.add_business_days(date(2027, 1, 4), 10**9)


def test_business_hours_cross_night_weekend_and_holiday_in_two_time_zones() -> None:
    # Tuesday 20 April 2027, 21:30 UTC: 18:30 in São Paulo (closed), 17:30 in Manaus (half an hour left).
    tuesday = datetime(2027, 4, 20, 21, 30, tzinfo=UTC)
    assert CAL.add_business_hours(tuesday, 1, "SP") == datetime(2027, 4, 22, 13, tzinfo=UTC)  # Thu 10:00 -03
    assert CAL.add_business_hours(tuesday, 1, "AM") == datetime(2027, 4, 22, 13, 30, tzinfo=UTC)  # Thu 09:30 -04
    # Friday 23 April, same local shape: the weekend is skipped.
    friday = datetime(2027, 4, 23, 21, 30, tzinfo=UTC)
    assert CAL.add_business_hours(friday, 1, "SP") == datetime(2027, 4, 26, 13, tzinfo=UTC)
    assert CAL.add_business_hours(friday, 1, "AM") == datetime(2027, 4, 26, 13, 30, tzinfo=UTC)
    # A full SLA: 20 business hours from Tuesday 16:00 in São Paulo = Tue 2 + Thu 9 + Fri 9.
    start = datetime(2027, 4, 20, 16, tzinfo=SP)
    assert CAL.add_business_hours(start, 20, "SP") == datetime(2027, 4, 23, 18, tzinfo=SP)
    assert CAL.add_business_hours(start, 20.5, "SP") == datetime(2027, 4, 26, 9, 30, tzinfo=SP)
    assert CAL.add_business_hours(start, 0, "SP") == start
    assert CAL.add_business_hours(start, 1, None) == CAL.add_business_hours(start, 1, "SP")
    assert CAL.add_business_hours(start, 1, "SP").tzinfo is UTC


def test_business_hours_are_configurable_and_checked() -> None:
    cal = BusinessCalendar(business_hours=(time(8), time(12)))
    assert cal.add_business_hours(datetime(2027, 4, 20, 11, tzinfo=SP), 2) == datetime(2027, 4, 22, 9, tzinfo=SP)
    with pytest.raises(ValueError, match="must open before they close"):
        BusinessCalendar(business_hours=(time(18), time(9)))
    with pytest.raises(ValueError, match="must be an aware datetime"):
        CAL.add_business_hours(datetime(2027, 4, 20, 11), 1)
    with pytest.raises(ValueError, match="must be zero or more"):
        CAL.add_business_hours(datetime(2027, 4, 20, 11, tzinfo=UTC), -1)


def test_unknown_uf() -> None:
    expected = r"UF 'XX' is not a Brazilian UF: expected one of AC, AL, AM, AP, BA, .*, TO \(or None\)"
    for call in (
        lambda: CAL.is_business_day(date(2027, 1, 4), "XX"),
        lambda: CAL.business_days_between(date(2027, 1, 4), date(2027, 1, 8), "XX"),
        lambda: CAL.add_business_days(date(2027, 1, 4), 1, "XX"),
        lambda: CAL.add_business_hours(datetime(2027, 1, 4, tzinfo=UTC), 1, "XX"),
        lambda: CAL.holidays(2027, "XX"),
    ):
        with pytest.raises(ValueError, match=expected):
            call()


@settings(deadline=None)
@given(dates, st.integers(-400, 400), ufs)
def test_add_then_between(day: date, n: int, uf: str | None) -> None:
    """between(d, add(d, n)) is n for n >= 1; for n <= 0 it is n when d is a business day, else n + 1
    (add(d, 0) moves a closed day forward; backwards, d itself is not counted in (result, d])."""
    result = CAL.add_business_days(day, n, uf)
    assert CAL.is_business_day(result, uf)
    assert naive_is_business_day(result, uf)
    expected = n if n >= 1 or CAL.is_business_day(day, uf) else n + 1
    assert CAL.business_days_between(day, result, uf) == expected
    assert (result > day) if n >= 1 else (result < day) if n <= -1 else (result >= day)


@settings(deadline=None)
@given(dates, dates, dates, ufs)
def test_between_is_antisymmetric_and_additive(a: date, b: date, c: date, uf: str | None) -> None:
    assert CAL.business_days_between(a, b, uf) == -CAL.business_days_between(b, a, uf)
    assert CAL.business_days_between(a, c, uf) == CAL.business_days_between(a, b, uf) + CAL.business_days_between(
        b, c, uf
    )


@settings(deadline=None)
@given(dates, st.integers(0, 60), ufs)
def test_between_matches_a_day_by_day_count(a: date, span: int, uf: str | None) -> None:
    b = a + timedelta(days=span)
    walked = sum(naive_is_business_day(a + timedelta(days=k), uf) for k in range(1, span + 1))
    assert CAL.business_days_between(a, b, uf) == walked
