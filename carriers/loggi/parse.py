"""Pure: Loggi package JSON (a tracking answer or a webhook body) → normalized tracking results.

Both shapes are ``{"packages": [{"trackingCode", "loggiKey", "status": {...}, "location": {city, state},
"promisedDate", "trackingHistory": [{"status": {"code", "highLevelStatus", "description", "actionRequired",
"updatedTime"}, "updatedTime"?, "location"?}]}]}`` (reference/carriers-brazil.md §4). Rules:

- the events are the ``trackingHistory`` when it has any, else the package's own ``status`` as one event;
- an event's time is its ``updatedTime`` (beside or inside its ``status``): ISO 8601, UTC ``Z`` in Loggi's sample;
  a time without an offset is taken as Brasília local time; events are put in time order, whatever the list order;
- the stored event code is ``LOGGI-<status.code>`` (e.g. ``LOGGI-5``), stable for the same event;
- a code missing from codes.csv keeps the parcel's current status (else in_transit), ``known_code=False``;
- a package Loggi does not know (HTTP 404 on tracking, or no package in the answer) is data: :func:`not_found`.

A shape we cannot read at all (no ``packages`` list, a package that is not an object or has no tracking code)
is a :class:`ContractError` naming what was expected; a bad field inside a package goes to ``problems``.
"""

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from carriers.base import ContractError, ResultError, Status, TrackingEvent, TrackingResult
from carriers.base.codes import normalize
from carriers.loggi.codes import lookup

CARRIER = "loggi"
LOCAL_TZ = ZoneInfo("America/Sao_Paulo")
PREFIX = "LOGGI-"
NOT_FOUND = "not_found"


def parse(payload: Any) -> list[TrackingResult]:
    """A ``GET /v1/companies/{id}/packages/{code}/tracking`` answer: one result per package."""
    return [parse_package(package) for package in _packages(payload, "tracking answer")]


def parse_webhook(payload: Any) -> list[TrackingResult]:
    """A webhook (push) body: one result per package, its full ``trackingHistory`` when it has one."""
    return [parse_package(package) for package in _packages(payload, "push body")]


def parse_answer(payload: Any, code: str) -> TrackingResult:
    """The tracking answer for the one ``code`` asked for (matched on ``trackingCode`` or ``loggiKey``, else the
    first package); an empty ``packages`` list means Loggi has no such package."""
    packages = _packages(payload, "tracking answer", need_code=False)
    if not packages:
        return not_found(code)
    chosen = next((p for p in packages if code in (_text(p.get("trackingCode")), _text(p.get("loggiKey")))), None)
    return parse_package(chosen or packages[0], code=code)


def not_found(code: str, message: Any = None) -> TrackingResult:
    """Loggi does not know ``code`` (yet): keep polling, the package may be registered later."""
    said = _text(message)[:200] if isinstance(message, str) else ""
    text = f"Loggi has no package {code}" + (f": {said}" if said else "")
    return TrackingResult(code, error=ResultError(NOT_FOUND, text, final=False))


def parse_package(package: dict[str, Any], *, code: str | None = None) -> TrackingResult:
    code = code or _text(package.get("trackingCode")).upper()
    problems: list[str] = []
    expected = _date(package.get("promisedDate"), problems)
    history = package.get("trackingHistory")
    status = package.get("status")
    if isinstance(history, list) and history:
        raw_events: list[Any] = history
    else:
        if history not in (None, []) and not isinstance(history, list):
            problems.append(f"'trackingHistory' is a {type(history).__name__}, expected a list; package status used")
        if not isinstance(status, dict):
            if status is not None:
                problems.append(f"'status' is a {type(status).__name__}, expected an object; ignored")
            return TrackingResult(code, expected_delivery=expected, problems=tuple(problems))
        raw_events = [{"status": status, "location": package.get("location")}]
    events = _events(raw_events, problems)
    return TrackingResult(code, tuple(events), expected, problems=tuple(problems))


def _packages(payload: Any, what: str, *, need_code: bool = True) -> list[dict[str, Any]]:
    if not isinstance(payload, dict) or not isinstance(payload.get("packages"), list):
        shape = f"keys {sorted(payload)[:8]}" if isinstance(payload, dict) else type(payload).__name__
        raise ContractError(f"{what}: expected a JSON object with a 'packages' list, got {shape}", carrier=CARRIER)
    packages: list[dict[str, Any]] = payload["packages"]
    for index, package in enumerate(packages):
        if not isinstance(package, dict):
            raise ContractError(
                f"{what}: packages[{index}] is a {type(package).__name__}, expected a package object", carrier=CARRIER
            )
        if need_code and not _text(package.get("trackingCode")):
            raise ContractError(
                f"{what}: packages[{index}] has trackingCode {package.get('trackingCode')!r}, "
                "expected the package's tracking code",
                carrier=CARRIER,
            )
    return packages


def _events(raw_events: list[Any], problems: list[str]) -> list[TrackingEvent]:
    dated: list[tuple[datetime, str, dict[str, Any], dict[str, Any]]] = []
    for number, raw in enumerate(raw_events, 1):
        if not isinstance(raw, dict) or not isinstance(raw.get("status"), dict):
            got = type(raw.get("status") if isinstance(raw, dict) else raw).__name__
            problems.append(f"event #{number} has no 'status' object (got {got}); skipped")
            continue
        status = raw["status"]
        code = status.get("code")
        if isinstance(code, bool) or not isinstance(code, str | int) or not str(code).strip():
            problems.append(f"event #{number} has status code {code!r}, expected Loggi's code (e.g. '5'); skipped")
            continue
        stamp = raw.get("updatedTime") or status.get("updatedTime")
        when = _time(stamp)
        if when is None:
            problems.append(
                f"event #{number} (code {normalize(code)!r}) has updatedTime {stamp!r}, "
                "expected an ISO 8601 date-time such as 2021-05-05T10:40:18.941518Z; skipped"
            )
            continue
        dated.append((when, normalize(code), status, raw))
    dated.sort(key=lambda item: item[0])  # stable: same-time events keep Loggi's order

    events: list[TrackingEvent] = []
    for when, code, status, raw in dated:
        info = lookup(code)
        said = _text(status.get("description")) or _text(status.get("highLevelStatus"))
        if info is None:
            safe = events[-1].status if events else Status.IN_TRANSIT
            problems.append(f"unknown Loggi status code {code!r} ({said!r}); kept as {safe}")
            state, reason, known = safe, None, False
        else:
            state, reason, known = info.status, info.reason, True
        events.append(
            TrackingEvent(
                occurred_at=when,
                code=PREFIX + code,
                status=state,
                reason=reason,
                description=said or (info.description if info else ""),
                location=_location(raw.get("location")),
                detail=_text(status.get("actionRequired")) or None,
                known_code=known,
                raw=raw,
            )
        )
    return events


def _location(value: Any) -> str | None:
    if not isinstance(value, dict):
        return None
    city, state = _text(value.get("city")), _text(value.get("state"))
    if city and state:
        return f"{city}/{state}"
    return city or state or None


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed.replace(tzinfo=LOCAL_TZ) if parsed.tzinfo is None else parsed


def _date(value: Any, problems: list[str]) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            when = _time(value)
            if when is not None:
                return when.astimezone(LOCAL_TZ).date()
    problems.append(f"promisedDate {value!r} is not a date (expected YYYY-MM-DD); ignored")
    return None
