"""Pure: the parsed ``scenarios.toml`` → validated :class:`Scenario` objects, or a ValueError saying where.

Every error names the file, the scenario, the event index (0-based, as in ``events[3]``), the field and the
offending value, e.g. ``scenarios.toml: scenario 'late', events[3], field 'at_h': must not be before the
previous event (50), got 40``.
"""

import math
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from carriers.sandbox.model import DEFAULT_CLAIM, DEFAULT_UNIT, MESSAGES, ClaimPlan, Event, Scenario

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_TYPE = re.compile(r"^[A-Z]{2,3}$")
_STATUS = re.compile(r"^\d{2}$")
_UF = re.compile(r"^[A-Z]{2}$")
_SCENARIO_FIELDS = ("promised_days", "events", "message", "incidents", "claim")
_CLAIM_FIELDS = ("verdict", "answer_days", "paid", "paid_days", "reactivated_verdict", "message")
_VERDICTS = ("upheld", "denied")
_AMOUNT = re.compile(r"^\d{1,9}(\.\d{1,2})?$")
_EVENT_FIELDS = ("at_h", "type", "status", "description", "detail", "city", "uf", "pickup_days", "unit")


def parse_scenarios(data: Mapping[str, Any], source: str = "scenarios.toml") -> dict[str, Scenario]:
    """Validate every top-level table of ``data`` as a scenario; keys are the scenario names."""
    if not data:
        raise ValueError(f"{source}: no scenarios defined")
    scenarios: dict[str, Scenario] = {}
    for name, raw in data.items():
        where = f"{source}: scenario {name!r}"
        if not _NAME.match(name):
            raise ValueError(f"{where}: the name must be lowercase letters, digits and '_'")
        if not isinstance(raw, dict):
            raise ValueError(f"{where}: expected a table, got {type(raw).__name__} {raw!r}")
        _no_unknown(raw, _SCENARIO_FIELDS, where)
        scenarios[name] = _scenario(name, raw, where)
    return scenarios


def _scenario(name: str, raw: dict[str, Any], where: str) -> Scenario:
    if "message" in raw:
        message = raw["message"]
        if message not in MESSAGES:
            raise ValueError(f"{where}, field 'message': must be one of {sorted(MESSAGES)}, got {message!r}")
        extra = [f for f in ("events", "promised_days") if f in raw]
        if extra:
            raise ValueError(f"{where}: a 'message' scenario takes no {' or '.join(extra)}, got {extra}")
        return Scenario(name, 0, (), MESSAGES[message], _incidents(raw, where), _claim(raw, where))
    days = _required(raw, "promised_days", where)
    if not isinstance(days, int) or isinstance(days, bool) or days < 0:
        raise ValueError(f"{where}, field 'promised_days': must be a whole number >= 0, got {days!r}")
    raw_events = _required(raw, "events", where)
    if not isinstance(raw_events, list) or not raw_events:
        raise ValueError(f"{where}, field 'events': must be a non-empty list of tables, got {raw_events!r}")
    events: list[Event] = []
    for index, raw_event in enumerate(raw_events):
        at = f"{where}, events[{index}]"
        if not isinstance(raw_event, dict):
            raise ValueError(f"{at}: expected a table, got {type(raw_event).__name__} {raw_event!r}")
        event = _event(raw_event, at)
        if events and event.at_h < events[-1].at_h:
            raise ValueError(
                f"{at}, field 'at_h': events must be in time order; must not be before the previous "
                f"event ({events[-1].at_h}), got {event.at_h}"
            )
        events.append(event)
    return Scenario(name, days, tuple(events), incidents=_incidents(raw, where), claim=_claim(raw, where))


def _claim(raw: dict[str, Any], where: str) -> ClaimPlan:
    if "claim" not in raw:
        return DEFAULT_CLAIM
    plan = raw["claim"]
    at = f"{where}, claim"
    if not isinstance(plan, dict):
        raise ValueError(f"{at}: expected a table {{verdict, answer_days, paid, ...}}, got {plan!r}")
    _no_unknown(plan, _CLAIM_FIELDS, at)
    verdicts = {}
    for name in ("verdict", "reactivated_verdict"):
        value = plan.get(name, getattr(DEFAULT_CLAIM, name))
        if value not in _VERDICTS:
            raise ValueError(f"{at}, field {name!r}: must be one of {', '.join(_VERDICTS)}, got {value!r}")
        verdicts[name] = value
    days = {}
    for name in ("answer_days", "paid_days"):
        value = plan.get(name, getattr(DEFAULT_CLAIM, name))
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValueError(f"{at}, field {name!r}: must be a whole number of business days >= 0, got {value!r}")
        days[name] = value
    paid = plan.get("paid")
    if paid is not None and not (isinstance(paid, str) and _AMOUNT.match(paid)):
        raise ValueError(
            f"{at}, field 'paid': must be an amount in R$ as a quoted string such as \"25.63\", got {paid!r}"
        )
    if paid is not None and verdicts["verdict"] != "upheld" and verdicts["reactivated_verdict"] != "upheld":
        raise ValueError(f"{at}, field 'paid': a claim that is never upheld pays nothing, got {paid!r}")
    message = plan.get("message", "")
    if not isinstance(message, str):
        raise ValueError(f"{at}, field 'message': must be a string, got {message!r}")
    try:
        amount = Decimal(paid) if paid is not None else None
    except InvalidOperation:  # pragma: no cover - the pattern above admits only decimals
        raise ValueError(f"{at}, field 'paid': not an amount, got {paid!r}") from None
    return ClaimPlan(
        verdict=verdicts["verdict"],
        answer_days=days["answer_days"],
        paid=amount,
        paid_days=days["paid_days"],
        reactivated_verdict=verdicts["reactivated_verdict"],
        message=message,
    )


def _incidents(raw: dict[str, Any], where: str) -> tuple[str, ...]:
    value = raw.get("incidents", [])
    if not isinstance(value, list) or not all(isinstance(k, str) and _NAME.match(k) for k in value):
        raise ValueError(f"{where}, field 'incidents': must be a list of incident kind names, got {value!r}")
    return tuple(value)


def _event(raw: dict[str, Any], at: str) -> Event:
    _no_unknown(raw, _EVENT_FIELDS, at)
    at_h = _number(raw, "at_h", at, minimum=0.0, required=True)
    assert at_h is not None
    return Event(
        at_h=at_h,
        type=_text(raw, "type", at, _TYPE, "2-3 uppercase letters such as 'BDE'"),
        status=_text(raw, "status", at, _STATUS, 'a quoted 2-digit string such as "01"'),
        description=_text(raw, "description", at),
        city=_text(raw, "city", at),
        uf=_text(raw, "uf", at, _UF, "2 uppercase letters such as 'SP'"),
        detail=_optional_text(raw, "detail", at),
        pickup_days=_number(raw, "pickup_days", at, minimum=0.0, required=False, exclusive=True),
        unit=_optional_text(raw, "unit", at) or DEFAULT_UNIT,
    )


def _no_unknown(raw: dict[str, Any], allowed: tuple[str, ...], where: str) -> None:
    unknown = sorted(set(raw) - set(allowed))
    if unknown:
        raise ValueError(f"{where}: unknown field(s) {unknown}; allowed: {', '.join(allowed)}")


def _required(raw: dict[str, Any], name: str, where: str) -> Any:
    if name not in raw:
        raise ValueError(f"{where}, field {name!r}: missing")
    return raw[name]


def _text(raw: dict[str, Any], name: str, at: str, pattern: re.Pattern[str] | None = None, shape: str = "") -> str:
    value = _required(raw, name, at)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{at}, field {name!r}: must be a non-empty string, got {value!r}")
    if pattern is not None and not pattern.match(value):
        raise ValueError(f"{at}, field {name!r}: must be {shape}, got {value!r}")
    return value


def _optional_text(raw: dict[str, Any], name: str, at: str) -> str | None:
    return _text(raw, name, at) if name in raw else None


def _number(
    raw: dict[str, Any], name: str, at: str, *, minimum: float, required: bool, exclusive: bool = False
) -> float | None:
    if name not in raw:
        if required:
            raise ValueError(f"{at}, field {name!r}: missing")
        return None
    value = raw[name]
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or (value <= minimum if exclusive else value < minimum):
        bound = f"> {minimum:g}" if exclusive else f">= {minimum:g}"
        raise ValueError(f"{at}, field {name!r}: must be a number {bound}, got {value!r}")
    return float(value)
