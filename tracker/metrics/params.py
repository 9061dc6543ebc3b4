"""A scorecard's request, checked: the API and the CLI take the same parameters and refuse them alike, each
problem naming the parameter, the value and what is expected."""

from datetime import date, datetime, timedelta

from carriers.base.registry import carriers
from tracker.calendar import UFS
from tracker.metrics.dialect import OFFSET_HOURS
from tracker.metrics.scorecard import GROUPS, Query
from tracker.problems import FieldError
from tracker.text import line_problem

MAX_DAYS = 731  # a period of at most two years
MAX_GROUPS = 3


class BadRequest(ValueError):
    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = errors


def today(now: datetime) -> date:
    """The Brasília date of ``now``: the default last day of a period."""
    return (now - timedelta(hours=OFFSET_HOURS)).date()


def _day(name: str, value: str | date, errors: list[FieldError]) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        errors.append(FieldError(field=name, message=f"{value[:40]!r} is not a date: expected YYYY-MM-DD"))
        return None


def query(
    first: str | date | None,
    last: str | date | None,
    *,
    today: date,
    group_by: str | None = None,
    carrier: str | None = None,
    service: str | None = None,
    origin_state: str | None = None,
    destination_state: str | None = None,
    category: str | None = None,
) -> Query:
    """The checked query; ``to`` defaults to today and ``from`` to 30 days before ``to``."""
    errors: list[FieldError] = []
    end = _day("to", last, errors) if last is not None else today
    start = _day("from", first, errors) if first is not None else (end - timedelta(days=29) if end else None)
    if start and end:
        if start > end:
            errors.append(FieldError(field="from", message=f"{start} is after to ({end}): expected from <= to"))
        elif (end - start).days + 1 > MAX_DAYS:
            errors.append(
                FieldError(field="to", message=f"the period is {(end - start).days + 1} days: at most {MAX_DAYS}")
            )
    groups = [g.strip() for g in (group_by or "carrier").split(",") if g.strip()]
    wrong = [g for g in groups if g not in GROUPS]
    if wrong or not groups or len(groups) > MAX_GROUPS:
        got = f"{(group_by or '')[:60]!r}"
        errors.append(
            FieldError(
                field="group_by",
                message=f"{got} is not a grouping: expected up to {MAX_GROUPS} of {', '.join(GROUPS)}, comma-separated",
            )
        )
    filters: dict[str, str] = {}
    known = sorted(carriers())
    if carrier is not None:
        if carrier.strip().lower() not in known:
            errors.append(
                FieldError(
                    field="carrier", message=f"{carrier[:40]!r} is not a carrier: expected one of {', '.join(known)}"
                )
            )
        filters["carrier"] = carrier.strip().lower()
    for name, value in (("origin_state", origin_state), ("destination_state", destination_state)):
        if value is not None:
            if value.strip().upper() not in UFS:
                message = f"{value[:40]!r} is not a Brazilian UF: expected one of {', '.join(sorted(UFS))}"
                errors.append(FieldError(field=name, message=message))
            filters[name] = value.strip().upper()
    for name, value, longest in (("service", service, 50), ("category", category, 50)):
        if value is not None:
            problem = line_problem(value) or ("empty" if not value.strip() else None)
            if problem or len(value) > longest:
                errors.append(FieldError(field=name, message=problem or f"longer than {longest} characters"))
            filters[name] = value.strip()
    if errors or start is None or end is None:
        raise BadRequest(errors)
    return Query(start, end, tuple(dict.fromkeys(groups)), filters)
