"""The adaptive poll schedule: cadence by status, near the promise, final re-check, retirement, backoff."""

import random
from datetime import UTC, date, datetime, timedelta

import pytest

from carriers.base import Status
from tracker.polling import cadence

NOW = datetime(2026, 11, 10, 15, 0, tzinfo=UTC)
SINCE = NOW - timedelta(days=3)


def gap(status: Status, expected: date | None = None, *, became_final: bool = False) -> timedelta:
    nxt = cadence.next_poll(
        status=status, now=NOW, tracked_since=SINCE, expected=expected, became_final=became_final, rng=random.Random(3)
    )
    assert nxt.at is not None
    return nxt.at - NOW


def test_out_for_delivery_is_polled_far_more_often_than_long_transit() -> None:
    assert gap(Status.OUT_FOR_DELIVERY) <= timedelta(minutes=66)
    assert gap(Status.IN_TRANSIT, date(2026, 11, 20)) >= timedelta(hours=5)


def test_transit_near_or_past_the_promise_is_polled_every_two_hours() -> None:
    assert timedelta(hours=1.8) <= gap(Status.IN_TRANSIT, date(2026, 11, 11)) <= timedelta(hours=2.2)
    assert gap(Status.IN_TRANSIT, date(2026, 11, 1)) <= timedelta(hours=2.2)
    assert gap(Status.IN_TRANSIT, date(2026, 11, 12)) >= timedelta(hours=5)


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
    gaps = {
        cadence.next_poll(
            status=Status.HELD, now=NOW, tracked_since=SINCE, expected=None, became_final=False, rng=rng
        ).at
        for _ in range(50)
    }
    assert len(gaps) == 50
    assert all(timedelta(hours=10.8) <= g - NOW <= timedelta(hours=13.2) for g in gaps if g)


@pytest.mark.parametrize(("errors", "low", "high"), [(1, 13.5, 16.5), (2, 27, 33), (3, 54, 66), (9, 324, 396)])
def test_error_backoff_doubles_and_is_capped(errors: int, low: float, high: float) -> None:
    at = cadence.after_error(now=NOW, error_count=errors, rng=random.Random(1))
    assert timedelta(minutes=low) <= at - NOW <= timedelta(minutes=high)


def test_every_non_final_status_has_a_cadence() -> None:
    table = cadence.cadence()
    assert {s for s in Status if not s.is_final} == set(table.by_status)
