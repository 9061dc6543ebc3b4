"""Pure: a Correios SRO Rastro REST payload → normalized tracking results.

Traps handled here (reference/carriers-brazil.md §1–2):
- the event *type* is in ``codigo`` and the *status number* in ``tipo`` (REST swapped the SOAP names);
- events come newest first; results are oldest first;
- ``EST`` reverses the event before it: both are kept, marked ``voided``;
- times are Brasília local time without an offset;
- ``SRO-020`` (not in Correios' base yet: keep polling) versus ``SRO-019`` (invalid: stop).
"""

from dataclasses import replace
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from carriers.base import ContractError, ResultError, Status, TrackingEvent, TrackingResult
from carriers.correios.codes import CodeInfo, lookup

CARRIER = "correios"
LOCAL_TZ = ZoneInfo("America/Sao_Paulo")
REVERSAL = "EST"
FINAL_MESSAGES = ("SRO-019",)


def parse(payload: Any) -> list[TrackingResult]:
    """Parse a ``GET /srorastro/v1/objetos`` answer; raise ContractError if it has no ``objetos`` list."""
    if not isinstance(payload, dict) or not isinstance(payload.get("objetos"), list):
        shape = type(payload).__name__ if not isinstance(payload, dict) else f"keys {sorted(payload)[:8]}"
        raise ContractError(f"expected a JSON object with an 'objetos' list, got {shape}", carrier=CARRIER)
    return [parse_object(obj) for obj in payload["objetos"] if isinstance(obj, dict) and obj.get("codObjeto")]


def parse_object(obj: dict[str, Any]) -> TrackingResult:
    code = str(obj["codObjeto"]).strip().upper()
    problems: list[str] = []
    expected = _parse_date(obj.get("dtPrevista"), "dtPrevista", problems)
    raw_events = obj.get("eventos")
    message = obj.get("mensagem")
    if not raw_events:
        if message:
            return TrackingResult(code, expected_delivery=expected, error=_message_error(str(message)))
        return TrackingResult(code, expected_delivery=expected)
    if not isinstance(raw_events, list):
        problems.append(f"'eventos' is a {type(raw_events).__name__}, expected a list; ignored")
        return TrackingResult(code, expected_delivery=expected, problems=tuple(problems))
    events = _events(raw_events, problems)
    return TrackingResult(code, tuple(events), expected, problems=tuple(problems))


def _message_error(message: str) -> ResultError:
    head = message.split(":", 1)[0].strip()
    code = head if head.startswith("SRO-") else "carrier_message"
    return ResultError(code=code, message=message, final=code in FINAL_MESSAGES)


def _events(raw_events: list[Any], problems: list[str]) -> list[TrackingEvent]:
    # Reversals follow the carrier's own list order (an EST cancels the event listed just before it, whatever
    # its timestamp, which is often the wrong part); the result is then put in time order.
    events: list[TrackingEvent] = []
    later: list[str] = []  # the dated events' problems, reported after the undated ones, as they come
    count = len(raw_events)
    for index, raw in enumerate(reversed(raw_events)):  # oldest first
        if not isinstance(raw, dict):
            problems.append(f"event #{count - index} is a {type(raw).__name__}, expected an object")
            continue
        when = _parse_time(raw.get("dtHrCriado"))
        code, type_, info = _kind(raw)
        if when is None:
            problems.append(
                f"event {code} ({raw.get('descricao')!r}) has no valid dtHrCriado "
                f"(got {raw.get('dtHrCriado')!r}, expected YYYY-MM-DDTHH:MM:SS); skipped"
            )
            continue
        _check_pickup_deadline(raw, code, later)
        if type_ == REVERSAL:
            _void_last_live(events)
            events.append(_event(raw, code, when, _current_status(events), None, voided=True))
        elif info is None:
            safe = _current_status(events)
            later.append(f"unknown Correios event code {code} ({raw.get('descricao')!r}); kept as {safe}")
            events.append(_event(raw, code, when, safe, None, known=False))
        else:
            events.append(_event(raw, code, when, info.status, info.reason))
    problems.extend(later)
    return sorted(events, key=_occurred_at)  # stable: same-time events keep the carrier's order


def _check_pickup_deadline(raw: dict[str, Any], code: str, problems: list[str]) -> None:
    """A ``dtLimiteRetirada`` that is not a time is a problem (the poll logs it), not a crash: the event is kept."""
    value = raw.get("dtLimiteRetirada")
    if value not in (None, "") and _parse_time(value) is None:
        problems.append(
            f"event {code} has dtLimiteRetirada {str(value)[:40]!r}, expected YYYY-MM-DDTHH:MM:SS; "
            "no pickup deadline kept"
        )


def _occurred_at(event: TrackingEvent) -> datetime:
    return event.occurred_at


_KINDS: dict[tuple[str, str], tuple[str, str, CodeInfo | None]] = {}  # (codigo, tipo) as sent → _kind's answer
_KINDS_MAX = 4096  # a carrier inventing codes does not grow it without bound


def _kind(raw: dict[str, Any]) -> tuple[str, str, CodeInfo | None]:
    """The event's raw code (``"BDE-01"``), its type (``"BDE"``) and the table's meaning of it (None: unknown),
    worked out once per pair sent."""
    key = (str(raw.get("codigo", "")), str(raw.get("tipo", "")))
    kind = _KINDS.get(key)
    if kind is None:
        type_, number = key[0].strip().upper(), key[1].strip()
        shown = number or "?"
        code = f"{type_ or '?'}-{shown.zfill(2) if shown.isdigit() else shown}"
        kind = (code, type_, None if type_ == REVERSAL else lookup(type_, number))
        if len(_KINDS) < _KINDS_MAX:
            _KINDS[key] = kind
    return kind


def _void_last_live(events: list[TrackingEvent]) -> None:
    for i in range(len(events) - 1, -1, -1):
        if not events[i].voided:
            events[i] = replace(events[i], voided=True)
            return


def _current_status(events: list[TrackingEvent]) -> Status:
    live = [e for e in events if not e.voided]
    return live[-1].status if live else Status.IN_TRANSIT


def _event(
    raw: dict[str, Any],
    code: str,
    when: datetime,
    status: Status,
    reason: Any,
    *,
    known: bool = True,
    voided: bool = False,
) -> TrackingEvent:
    detail = raw.get("detalhe")
    # positional: TrackingEvent's fields in order (occurred_at, code, status, reason, description, location, detail,
    # pickup_deadline, known_code, voided, raw); half the cost of the keyword call on the poll path
    return TrackingEvent(
        when,
        code,
        status,
        reason,
        str(raw.get("descricao") or "").strip(),
        _location(raw.get("unidade")),
        (str(detail).strip() or None) if detail else None,
        _parse_time(raw.get("dtLimiteRetirada")),
        known,
        voided,
        raw,
    )


def _location(unit: Any) -> str | None:
    if not isinstance(unit, dict):
        return None
    address = unit.get("endereco")
    if not isinstance(address, dict):
        address = {}
    city, uf = address.get("cidade"), address.get("uf")
    if city and uf:
        return f"{str(city).strip()}/{str(uf).strip()}"
    return str(city or unit.get("nome") or "").strip() or None


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        return parsed
    # the constructor with a positional tzinfo: a third of ``replace(tzinfo=…)``'s cost on Python 3.11
    return datetime(
        parsed.year, parsed.month, parsed.day, parsed.hour, parsed.minute, parsed.second, parsed.microsecond, LOCAL_TZ
    )


def _parse_date(value: Any, field: str, problems: list[str]) -> date | None:
    if value in (None, ""):
        return None
    parsed = _parse_time(value) if isinstance(value, str) and "T" in value else None
    if parsed is None and isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    if parsed is None:
        problems.append(f"{field} {value!r} is not a date (expected YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS); ignored")
        return None
    return parsed.date()
