"""Pure: a Kangu ``GET /v1/tracking`` answer → Zelo's normalized tracking results.

The answer (an illustrative shape, see the README)::

    {"parcels": [
        {"tracking_code": "KG0012345678", "estimated_delivery": "2026-11-06",
         "events": [{"code": "SAIU_PARA_ENTREGA", "description": "Saiu para entrega",
                     "happened_at": "2026-11-04T08:05:00-03:00", "location": {"city": "Campinas", "state": "SP"},
                     "pickup_until": null}]},
        {"tracking_code": "KG0012345679", "error": {"code": "not_found", "message": "Encomenda não encontrada"}}]}

- events are put in time order, whatever order Kangu lists them in; a time without an offset is São Paulo time;
- an event code missing from ``codes.csv`` is not an error: the event keeps the status before it (``in_transit``
  when it is the first) and the result says so in ``problems``; so does an event without a readable time (skipped);
- ``error`` is a business answer, returned as data: ``not_found`` (not in Kangu's base yet) keeps the parcel polled,
  ``invalid_code`` stops it; an ``error`` beside events is reported in ``problems`` and the events are kept;
- only an answer that is not this shape raises (:class:`~carriers.base.ContractError`). Messages name fields and
  types, never a value Kangu sent about the recipient.
"""

from datetime import date, datetime
from operator import itemgetter
from typing import Any
from zoneinfo import ZoneInfo

from carriers.base import ContractError, ResultError, Status, TrackingEvent, TrackingResult

from zelo_kangu.codes import lookup

CARRIER = "kangu"
LOCAL_TZ = ZoneInfo("America/Sao_Paulo")
FINAL_ERRORS = frozenset({"invalid_code"})
MAX_CODE = 32  # Zelo stores an event code in 32 characters


def parse(payload: Any) -> list[TrackingResult]:
    """Parse a tracking answer; :class:`ContractError` when it is not ``{"parcels": [objects naming their code]}``."""
    if not isinstance(payload, dict) or not isinstance(payload.get("parcels"), list):
        raise ContractError(f"expected a JSON object with a 'parcels' list, got {_shape(payload)}", carrier=CARRIER)
    results = []
    for index, parcel in enumerate(payload["parcels"]):
        code = _text(parcel.get("tracking_code")) if isinstance(parcel, dict) else None
        if code is None:
            raise ContractError(
                f"parcels[{index}] is not an object with a 'tracking_code': got {_shape(parcel)}", carrier=CARRIER
            )
        results.append(parse_parcel(code.upper(), parcel))
    return results


def parse_parcel(code: str, parcel: dict[str, Any]) -> TrackingResult:
    problems: list[str] = []
    expected = _date(parcel.get("estimated_delivery"), problems)
    events = _events(parcel.get("events"), problems)
    error = _error(parcel.get("error"), problems)
    if error is not None and events:
        problems.append(f"error {error.code!r} came with tracking events; the events are kept")
        error = None
    return TrackingResult(code, tuple(events), expected, error, tuple(problems))


def _events(raw_events: Any, problems: list[str]) -> list[TrackingEvent]:
    if raw_events is None:
        return []
    if not isinstance(raw_events, list):
        problems.append(f"'events' is a {type(raw_events).__name__}, expected a list; ignored")
        return []
    dated: list[tuple[datetime, dict[str, Any]]] = []
    for index, raw in enumerate(raw_events):
        if not isinstance(raw, dict):
            problems.append(f"events[{index}] is a {type(raw).__name__}, expected an object; skipped")
            continue
        when = _time(raw.get("happened_at"))
        if when is None:
            problems.append(
                f"events[{index}] ({_code(raw)!r}) has no valid 'happened_at' (expected an ISO 8601 time); skipped"
            )
            continue
        dated.append((when, raw))
    dated.sort(key=itemgetter(0))  # stable: events of the same instant keep Kangu's order

    events: list[TrackingEvent] = []
    for when, raw in dated:
        code, said = _code(raw), _text(raw.get("description"))
        info = lookup(code)
        status = info.status if info else (events[-1].status if events else Status.IN_TRANSIT)
        if info is None:
            problems.append(f"unknown Kangu event code {code!r}; kept as {status}")
        events.append(
            TrackingEvent(
                occurred_at=when,
                code=code,
                status=status,
                reason=info.reason if info else None,
                description=info.description if info else (said or code),
                location=_location(raw.get("location")),
                detail=said if info and said != info.description else None,
                pickup_deadline=_time(raw.get("pickup_until")),
                known_code=info is not None,
                raw=raw,
            )
        )
    return events


def _error(error: Any, problems: list[str]) -> ResultError | None:
    if error is None:
        return None
    code = _text(error.get("code")) if isinstance(error, dict) else None
    if code is None:
        problems.append(f"'error' is {_shape(error)}, expected an object with a 'code'; ignored")
        return None
    code = code.lower()
    message = (_text(error.get("message")) or code)[:200]
    return ResultError(code, message, final=code in FINAL_ERRORS)


def _code(raw: dict[str, Any]) -> str:
    return (_text(raw.get("code")) or "?").upper()[:MAX_CODE]


def _location(location: Any) -> str | None:
    if not isinstance(location, dict):
        return _text(location)
    city, state = _text(location.get("city")), _text(location.get("state"))
    return f"{city}/{state}" if city and state else city


def _text(value: Any) -> str | None:
    if isinstance(value, str | int) and not isinstance(value, bool):
        return str(value).strip() or None
    return None


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed.replace(tzinfo=LOCAL_TZ) if parsed.tzinfo is None else parsed


def _date(value: Any, problems: list[str]) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip()[:10])
        except ValueError:
            pass
    problems.append(f"'estimated_delivery' is not a date (expected yyyy-mm-dd, got {value!r}); ignored")
    return None


def _shape(value: Any) -> str:
    if isinstance(value, dict):
        return f"an object with keys {sorted(map(str, value))[:8]}"
    return f"a {type(value).__name__}"
