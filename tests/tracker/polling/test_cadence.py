"""The adaptive poll schedule: cadence by status, by day only, near the promise, final re-check, retirement,
backoff."""

import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from carriers.base import Status
from tracker.polling import cadence

NOW = datetime(2026, 11, 10, 15, 0, tzinfo=UTC)  # noon in Brasília
SINCE = NOW - timedelta(days=3)
BRASILIA = ZoneInfo("America/Sao_Paulo")


def gap(status: Status, expected: date | None = None, *, became_final: bool = False, now: datetime = NOW) -> timedelta:
    nxt = cadence.next_poll(
        status=status, now=now, tracked_since=SINCE, expected=expected, became_final=became_final, rng=random.Random(3)
    )
    assert nxt.at is not None
    return nxt.at - now


def test_out_for_delivery_is_polled_more_often_than_transit() -> None:
    assert gap(Status.OUT_FOR_DELIVERY) <= timedelta(minutes=50)
    assert timedelta(minutes=81) <= gap(Status.IN_TRANSIT, date(2026, 11, 20)) <= timedelta(minutes=99)


def test_transit_near_or_past_the_promise_is_polled_every_hour() -> None:
    assert timedelta(minutes=54) <= gap(Status.IN_TRANSIT, date(2026, 11, 11)) <= timedelta(minutes=66)
    assert gap(Status.IN_TRANSIT, date(2026, 11, 1)) <= timedelta(minutes=66)
    assert gap(Status.IN_TRANSIT, date(2026, 11, 12)) >= timedelta(minutes=81)


def test_a_poll_that_would_fall_in_the_carriers_night_waits_for_the_morning() -> None:
    late = datetime(2026, 11, 10, 23, 30, tzinfo=BRASILIA).astimezone(UTC)
    mornings = {
        (late + gap(Status.IN_TRANSIT, now=late, became_final=False)).astimezone(BRASILIA).replace(tzinfo=None)
        for _ in range(3)
    }
    assert all(datetime(2026, 11, 11, 8) <= m <= datetime(2026, 11, 11, 8, 40) for m in mornings)
    evening = datetime(2026, 11, 10, 21, 0, tzinfo=BRASILIA).astimezone(UTC)
    assert gap(Status.IN_TRANSIT, now=evening) <= timedelta(minutes=99)  # 22:30 is still the carriers' day
    spread = {
        cadence.by_day(late + timedelta(hours=3), cadence.cadence(), random.Random(seed)).astimezone(BRASILIA).minute
        for seed in range(20)
    }
    assert len(spread) > 10  # the morning's polls do not all start at 08:00


def test_final_status_gets_one_recheck_then_stops() -> None:
    assert timedelta(hours=21) <= gap(Status.DELIVERED, became_final=True) <= timedelta(hours=27)
    nxt = cadence.next_poll(
        status=Status.DELIVERED, now=NOW, tracked_since=SINCE, expected=None, became_final=False, rng=random.Random()
    )
    assert nxt == cadence.NextPoll(None, "final")


def test_retired_after_ninety_days_whatever_the_status() -> None:
    nxt = cadence.next_poll(
        status=Status.IN_TRANSIT,
        now=NOW,
        tracked_since=NOW - timedelta(days=90),
        expected=None,
        became_final=False,
        rng=random.Random(),
    )
    assert nxt == cadence.NextPoll(None, "retired")


def test_jitter_spreads_polls_within_ten_percent() -> None:
    rng = random.Random(5)
    morning = datetime(2026, 11, 10, 7, 0, tzinfo=BRASILIA).astimezone(UTC)  # 12 h on is still day
    gaps = {
        cadence.next_poll(
            status=Status.HELD, now=morning, tracked_since=SINCE, expected=None, became_final=False, rng=rng
        ).at
        for _ in range(50)
    }
    assert len(gaps) == 50
    assert all(timedelta(hours=10.8) <= g - morning <= timedelta(hours=13.2) for g in gaps if g)


@pytest.mark.parametrize(("errors", "low", "high"), [(1, 13.5, 16.5), (2, 27, 33), (3, 54, 66), (9, 324, 396)])
def test_error_backoff_doubles_and_is_capped(errors: int, low: float, high: float) -> None:
    at = cadence.after_error(now=NOW, error_count=errors, rng=random.Random(1))
    assert timedelta(minutes=low) <= at - NOW <= timedelta(minutes=high)


def test_every_non_final_status_has_a_cadence() -> None:
    table = cadence.cadence()
    assert {s for s in Status if not s.is_final} == set(table.by_status)
