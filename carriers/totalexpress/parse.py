"""Pure: a Total Express tracking answer → normalized tracking results.

The REST answer's shape (``POST /ics-tracking-encomenda-lv/v1/tracking``) is NOT in the reference and is not
confirmed: it is modelled on the legacy SOAP ``ObterTracking`` fields, as a JSON list with one entry per AWB
and its status history::

    [{"AWB": "TE0000000001", "Pedido": "1001", "Historico": [
        {"CodStatus": 83, "DescStatus": "COLETA REALIZADA", "DataStatus": "2025-03-03 09:12:00", "Cidade": "Cajamar"},
        {"CodStatus": 1, "DescStatus": "ENTREGA REALIZADA", "DataStatus": "2025-03-05 14:40:00", "Cidade": "Rio"}]},
     {"AWB": "TE0000000002", "Historico": [], "Mensagem": "AWB não localizada"}]

Field names are matched without regard to case (``awb``, ``codStatus`` pass too). An answer of another shape is
a :class:`ContractError` naming what was expected, so a difference from the real API shows on the first call.
``DataStatus`` is Brasília local time without an offset (``YYYY-MM-DD HH:MM[:SS]``, ISO ``T`` form, or
``DD/MM/YYYY HH:MM[:SS]``). The history may come in any order; results are oldest first. An entry without
history but with ``Mensagem`` is the carrier's "not found" answer: data (``not_found``), polled again.
Problems never quote ``DescStatus`` (a delivery text may name the person who received the parcel).
"""

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from carriers.base import ContractError, ResultError, Status, TrackingEvent, TrackingResult
from carriers.totalexpress.codes import lookup, normalize_id

CARRIER = "totalexpress"
LOCAL_TZ = ZoneInfo("America/Sao_Paulo")
NOT_FOUND = "not_found"
_LOCAL_FORMATS = ("%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M")


def parse(payload: Any) -> list[TrackingResult]:
    """Parse a tracking answer; :class:`ContractError` if it is not a list of AWB entries."""
    if not isinstance(payload, list):
        shape = f"an object with keys {sorted(payload)[:8]}" if isinstance(payload, dict) else type(payload).__name__
        raise ContractError(
            f"expected a JSON list of AWB entries (AWB, Pedido, Historico), got {shape}", carrier=CARRIER
        )
    return [parse_entry(entry, index) for index, entry in enumerate(payload)]


def parse_entry(entry: Any, index: int = 0) -> TrackingResult:
    """One AWB entry → its result; :class:`ContractError` if it is not an object with an AWB and a history list."""
    where = f"entry #{index}"
    if not isinstance(entry, dict):
        raise ContractError(f"{where} is a {type(entry).__name__}, expected an object with AWB", carrier=CARRIER)
    awb = _field(entry, "AWB")
    if not isinstance(awb, str | int) or isinstance(awb, bool) or not str(awb).strip():
        raise ContractError(
            f"{where} has no AWB (got {type(awb).__name__}, keys {sorted(entry)[:8]}), expected the AWB as text",
            carrier=CARRIER,
        )
    code = str(awb).strip().upper()
    history = _field(entry, "Historico")
    if history is None:
        history = []
    if not isinstance(history, list):
        raise ContractError(
            f"{where} ({code}): Historico is a {type(history).__name__}, expected a list of status events",
            carrier=CARRIER,
        )
    message = _field(entry, "Mensagem")
    if not history:
        if isinstance(message, str) and message.strip():
            return TrackingResult(code, error=ResultError(NOT_FOUND, message.strip(), final=False))
        return TrackingResult(code)
    problems: list[str] = []
    return TrackingResult(code, tuple(_events(history, problems)), problems=tuple(problems))


def _events(history: list[Any], problems: list[str]) -> list[TrackingEvent]:
    dated: list[tuple[datetime, str, dict[str, Any]]] = []
    for number, raw in enumerate(history, 1):
        if not isinstance(raw, dict):
            problems.append(f"status #{number} is a {type(raw).__name__}, expected an object; skipped")
            continue
        status_id = _field(raw, "CodStatus")
        if status_id is None or isinstance(status_id, bool | dict | list) or not str(status_id).strip():
            problems.append(f"status #{number} has no CodStatus (got {status_id!r}); skipped")
            continue
        when = _parse_time(_field(raw, "DataStatus"))
        if when is None:
            got = _field(raw, "DataStatus")
            shown = repr(got) if isinstance(got, str | int | float | None) else type(got).__name__
            problems.append(
                f"status {normalize_id(status_id)} has no valid DataStatus (got {shown}, "
                "expected YYYY-MM-DD HH:MM:SS or DD/MM/YYYY HH:MM:SS); skipped"
            )
            continue
        dated.append((when, normalize_id(status_id), raw))
    dated.sort(key=lambda item: item[0])  # stable: same-time statuses keep the carrier's order

    events: list[TrackingEvent] = []
    for when, status_id, raw in dated:
        info = lookup(status_id)
        if info is None:
            safe = events[-1].status if events else Status.IN_TRANSIT
            problems.append(f"unknown Total Express status {status_id!r} at {when.isoformat()}; kept as {safe}")
            events.append(_event(raw, when, status_id, safe, None, "", known=False))
        else:
            events.append(_event(raw, when, status_id, info.status, info.reason, info.description))
    return events


def _event(
    raw: dict[str, Any],
    when: datetime,
    code: str,
    status: Status,
    reason: Any,
    table_text: str,
    *,
    known: bool = True,
) -> TrackingEvent:
    description = _field(raw, "DescStatus")
    text = description.strip() if isinstance(description, str) and description.strip() else table_text
    city = _field(raw, "Cidade")
    return TrackingEvent(
        occurred_at=when,
        code=code,
        status=status,
        reason=reason,
        description=text,
        location=(city.strip() or None) if isinstance(city, str) else None,
        known_code=known,
        raw=raw,
    )


def _field(obj: dict[str, Any], name: str) -> Any:
    """``obj[name]``, the key matched without regard to case; None when absent."""
    if name in obj:
        return obj[name]
    lowered = name.lower()
    return next((value for key, value in obj.items() if isinstance(key, str) and key.lower() == lowered), None)


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if len(text) <= len("YYYY-MM-DD"):  # a date alone says no time of day
        return None
    parsed: datetime | None = None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        for fmt in _LOCAL_FORMATS:
            try:
                parsed = datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
    if parsed is None:
        return None
    return parsed.replace(tzinfo=LOCAL_TZ) if parsed.tzinfo is None else parsed
