"""Input that is accepted and stored, but likely wrong: each doubt is a warning on the item (as an unknown field
is), worded as the field, what was given (a customer's value masked) and what was expected."""

from datetime import date, datetime, timedelta

from tracker import mask
from tracker.calendar import timezone_of
from tracker.ingest.schemas import ShipmentIn
from tracker.ingest.validation import cep_range, uf_of_cep

AHEAD = timedelta(days=366)  # a shipping date or a promise further ahead than this is a typo (the year, most often)
_STORED = "stored as given"


def doubts(s: ShipmentIn, now: datetime) -> list[str]:
    """What looks wrong in ``s`` on ``now``: dates out of order or too far ahead, a CEP of another state. Today's
    date and the zone conversions are worked out only when a date is there to compare (a batch doubts each of its
    shipments: bench/NOTES.md)."""
    found: list[str] = []
    d = s.destination
    state = d.state if d is not None else None
    shipped, promised = s.shipped_at, s.promised_delivery_date
    # An instant's date as written (in its own offset) is at most two days off its date in any zone: dates well
    # inside the bounds, as nearly all are, are settled on those, without converting to a zone.
    if shipped is not None and (shipped.date() - now.date()).days > AHEAD.days - 3 and shipped - now > AHEAD:
        found.append(
            f"shipped_at {shipped.isoformat()} is more than a year ({AHEAD.days} days) ahead of today "
            f"({_day(now, state)}): {_STORED}; expected the day the parcel left (check the year)"
        )
    gap = (promised - (now if shipped is None else shipped).date()).days if promised is not None else 0
    if promised is not None and not ((shipped is None or gap >= 2) and gap < AHEAD.days - 1):
        shipped_day = shipped.astimezone(timezone_of(state)).date() if shipped is not None else None
        if shipped_day is not None and promised < shipped_day:
            found.append(
                f"promised_delivery_date {promised} is before shipped_at's day {shipped_day}: {_STORED}; "
                "expected a promise on or after the shipping day"
            )
        elif promised - (shipped_day or _day(now, state)) > AHEAD:
            since = f"shipped_at's day ({shipped_day})" if shipped_day else f"today ({_day(now, state)})"
            found.append(
                f"promised_delivery_date {promised} is more than a year ({AHEAD.days} days) after {since}: "
                f"{_STORED}; check the year"
            )
    postal_code = d.postal_code if d is not None else None
    if postal_code is not None and state is not None:
        belongs = uf_of_cep(postal_code)
        if belongs != state:
            where = f"belongs to {belongs} ({cep_range(belongs)})" if belongs else "is in no state's range"
            found.append(
                f"destination.postal_code {mask.cep(postal_code)!r} {where}, not to destination.state {state} "
                f"({cep_range(state)}): {_STORED}; check the CEP and the state"
            )
    return found


def _day(now: datetime, state: str | None) -> date:
    return now.astimezone(timezone_of(state)).date()
