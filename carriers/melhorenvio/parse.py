"""Pure: Melhor Envio tracking answers and webhook bodies → normalized tracking results.

A Melhor Envio order has one current ``status`` and a date per milestone it went through (``created_at``,
``paid_at``, ``generated_at``, ``posted_at``, ``delivered_at``, ``canceled_at``, ``expired_at``); no history of
checkpoints. So an order gives one event per dated milestone, code ``ME-<status>`` at that milestone's date,
plus one for its current status when no milestone date stands for it (``undelivered``, ``received``,
``paused``, ...): dated by ``<status>_at`` if present, else ``updated_at``, else the latest milestone (said in
``problems``). The same order read from a tracking answer or a webhook gives the same events.

Times without an offset are Brasília local time. Order ids come back upper-cased, as Zelo stores codes.
The full shape of either payload is not documented publicly: fields not read here are ignored.
"""

from dataclasses import replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from carriers.base import ContractError, ResultError, Status, TrackingEvent, TrackingResult
from carriers.melhorenvio.codes import lookup
from carriers.melhorenvio.ids import stored

CARRIER = "melhorenvio"
LOCAL_TZ = ZoneInfo("America/Sao_Paulo")
PREFIX = "ME-"
# (date field, the Melhor Envio status that milestone is), in lifecycle order
MILESTONES = (
    ("created_at", "created"),
    ("paid_at", "released"),
    ("generated_at", "generated"),
    ("posted_at", "posted"),
    ("delivered_at", "delivered"),
    ("canceled_at", "canceled"),
    ("expired_at", "expired"),
)
# a current status already told by one of those dates
STATUS_DATE = {status: field for field, status in MILESTONES} | {
    "pending": "created_at",
    "cancelled": "canceled_at",
}
ORDER_FIELDS = frozenset({"status", *(field for field, _ in MILESTONES)})
NOT_FOUND = "not_found"
WEBHOOK_PREFIX = "order."
TIME_FORMAT = "YYYY-MM-DD HH:MM:SS (Brasília) or an ISO 8601 date-time"


def parse(payload: Any) -> list[TrackingResult]:
    """Parse a ``POST /api/v2/me/shipment/tracking`` answer: an object keyed by order id."""
    if isinstance(payload, list) and not payload:  # PHP writes an empty map as []
        return []
    if not isinstance(payload, dict):
        raise ContractError(
            f"expected a JSON object keyed by Melhor Envio order id, got {type(payload).__name__}", carrier=CARRIER
        )
    if "errors" in payload or ("message" in payload and not any(isinstance(v, dict) for v in payload.values())):
        raise ContractError(
            f"expected a tracking answer keyed by order id, got an error answer: {str(payload.get('message'))[:200]!r}",
            carrier=CARRIER,
        )
    return [parse_order(str(key), value) for key, value in payload.items()]


def parse_webhook(payload: Any) -> list[TrackingResult]:
    """Parse one Melhor Envio webhook body ``{"event": "order.<status>", "data": {order}}``; an event that is
    not about an order gives no result."""
    if not isinstance(payload, dict) or not isinstance(payload.get("event"), str):
        shape = f"keys {sorted(payload)[:8]}" if isinstance(payload, dict) else type(payload).__name__
        raise ContractError(
            f"expected a Melhor Envio webhook: a JSON object with an 'event' string (e.g. 'order.posted') "
            f"and a 'data' object, got {shape}",
            carrier=CARRIER,
        )
    event = payload["event"].strip()
    if not event.startswith(WEBHOOK_PREFIX):
        return []
    data = payload.get("data")
    if not isinstance(data, dict):
        raise ContractError(
            f"webhook {event!r}: 'data' is {type(data).__name__}, expected the order object", carrier=CARRIER
        )
    order_id = data.get("id")
    if not isinstance(order_id, str) or not order_id.strip():
        raise ContractError(
            f"webhook {event!r}: data.id is {order_id!r}, expected the Melhor Envio order id (a UUID)",
            carrier=CARRIER,
        )
    if not isinstance(data.get("status"), str):  # the event name says the status the order reached
        data = {**data, "status": event.removeprefix(WEBHOOK_PREFIX)}
    return [parse_order(order_id, data)]


def not_found(code: str, message: str = "") -> TrackingResult:
    """Melhor Envio does not know the order (for this account): keep polling, it may be another account's."""
    text = message or f"Melhor Envio has no order {code.strip().lower()} for this account"
    return TrackingResult(stored(code), error=ResultError(NOT_FOUND, text, final=False))


def parse_order(code: str, order: Any) -> TrackingResult:
    """One order object (a tracking answer's value, or a webhook's ``data``)."""
    if not isinstance(order, dict) or not ORDER_FIELDS & order.keys():
        message = order.get("message") or order.get("error") if isinstance(order, dict) else None
        if order is None or (isinstance(message, str) and message.strip()):
            return not_found(code, message.strip() if isinstance(message, str) else "")
        what = f"keys {sorted(order)[:8]}" if isinstance(order, dict) else type(order).__name__
        raise ContractError(
            f"order {code!r}: expected an order object with 'status' and its dates, got {what}", carrier=CARRIER
        )
    problems: list[str] = []
    tracking = order.get("tracking") if isinstance(order.get("tracking"), str) else None
    events: list[TrackingEvent] = []
    for field, status in MILESTONES:
        when = _time(order, field, problems)
        if when is not None:
            events.append(_event(status, when, field, order, tracking))
    _current(order, events, tracking, problems)
    events.sort(key=lambda e: e.occurred_at)  # stable: same-time events keep lifecycle order
    return TrackingResult(stored(code), tuple(_safe(events, problems)), problems=tuple(problems))


def _current(order: dict[str, Any], events: list[TrackingEvent], tracking: str | None, problems: list[str]) -> None:
    """The event of the order's current status, when no milestone date already stands for it."""
    status = order.get("status")
    if status is None:
        problems.append("the order has no 'status'; only its dated milestones are used")
        return
    if not isinstance(status, str) or not status.strip():
        problems.append(f"'status' is {status!r}, expected a Melhor Envio status word; ignored")
        return
    status = status.strip().lower()
    field = STATUS_DATE.get(status)
    if field is not None and any(e.raw.get("milestone") == field for e in events):
        return
    for source in (f"{status}_at", "updated_at"):
        when = _time(order, source, problems)
        if when is not None:
            events.append(_event(status, when, source, order, tracking))
            return
    if not events:
        problems.append(f"status {status!r} has no date (no {status}_at, no updated_at, no milestone); not kept")
        return
    latest = max(events, key=lambda e: e.occurred_at)
    problems.append(f"status {status!r} has no date of its own (no {status}_at, no updated_at); dated at {latest.code}")
    events.append(_event(status, latest.occurred_at, latest.raw["milestone"], order, tracking))


def _event(status: str, when: datetime, field: str, order: dict[str, Any], tracking: str | None) -> TrackingEvent:
    info = lookup(status)
    raw = {"milestone": field, field: order.get(field), "status": order.get("status")}
    return TrackingEvent(
        occurred_at=when,
        code=PREFIX + status,
        status=info.status if info else Status.IN_TRANSIT,  # unknown: made safe in _safe()
        reason=info.reason if info else None,
        description=info.description if info else status,
        detail=f"rastreio {tracking}" if tracking else None,
        known_code=info is not None,
        raw=raw,
    )


def _safe(events: list[TrackingEvent], problems: list[str]) -> list[TrackingEvent]:
    """Unknown statuses take the status the parcel had before them (else in transit), said in ``problems``."""
    out: list[TrackingEvent] = []
    for event in events:
        if not event.known_code:
            safe = out[-1].status if out else Status.IN_TRANSIT
            problems.append(f"unknown Melhor Envio status {event.code.removeprefix(PREFIX)!r}; kept as {safe}")
            event = replace(event, status=safe)
        out.append(event)
    return out


def _time(order: dict[str, Any], field: str, problems: list[str]) -> datetime | None:
    value = order.get(field)
    if value is None or value == "":
        return None
    parsed = None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            parsed = None
    if parsed is None:
        problems.append(f"{field} {value!r} is not a date-time (expected {TIME_FORMAT}); ignored")
        return None
    return parsed.replace(tzinfo=LOCAL_TZ) if parsed.tzinfo is None else parsed
