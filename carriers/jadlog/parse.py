"""Pure: a Jadlog ``POST /embarcador/api/tracking/consultar`` answer → normalized tracking results.

The answer (reference/carriers-brazil.md §4): ``{"consulta": [{"shipmentId" | "cte" | "codigo": ..,
"previsaoEntrega": .., "tracking": {"status": .., "eventos": [{"data", "status", "unidade"}]},
"erro": {"id", "descricao", "detalhe"}}]}``. What is handled here:

- an event has no code besides its status text: the folded text is its code (:func:`codes.event_code`);
- ``data`` is Brasília local time without an offset (``yyyy-mm-dd hh:mm:ss``); events are put in time order
  whatever order Jadlog lists them in (events of the same second keep Jadlog's order);
- ``previsaoEntrega`` is the carrier's expected date; Jadlog gives no pickup deadline;
- ``erro`` is a business answer, never an exception: "Não localizado" (not in Jadlog's base yet: keep polling)
  and any answer not recognised are not final; an answer saying the code is invalid is final. An ``erro``
  beside events is reported in ``problems`` and the events are kept.

Which ``erro`` texts Jadlog sends besides "Não localizado" is not confirmed: the words "não localizado" /
"não encontrado" and "inválido" are what is looked for.
"""

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from carriers.base import ContractError, ResultError, Status, TrackingEvent, TrackingResult
from carriers.jadlog.codes import event_code, lookup

CARRIER = "jadlog"
LOCAL_TZ = ZoneInfo("America/Sao_Paulo")
KEYS = ("shipmentId", "cte", "codigo")  # how a consulta entry names its object, in the order looked for
NOT_FOUND_WORDS = ("NAO LOCALIZAD", "NAO ENCONTRAD")
INVALID_WORDS = ("INVALID",)
NOT_FOUND = "nao_localizado"
INVALID = "invalido"
LOCAL_FORMATS = ("%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M")


def parse(payload: Any) -> list[TrackingResult]:
    """Parse a tracking answer; ContractError when it is not ``{"consulta": [objects naming their code]}``."""
    if not isinstance(payload, dict) or not isinstance(payload.get("consulta"), list):
        raise ContractError(f"expected a JSON object with a 'consulta' list, got {_shape(payload)}", carrier=CARRIER)
    results = []
    for index, item in enumerate(payload["consulta"]):
        if not isinstance(item, dict):
            raise ContractError(f"consulta[{index}] is a {type(item).__name__}, expected an object", carrier=CARRIER)
        code = _identifier(item)
        if code is None:
            raise ContractError(
                f"consulta[{index}] names no object: expected one of {', '.join(KEYS)} with the code asked for, "
                f"got keys {sorted(item)[:8]}",
                carrier=CARRIER,
            )
        results.append(parse_item(code, item))
    return results


def parse_item(code: str, item: dict[str, Any]) -> TrackingResult:
    problems: list[str] = []
    expected = _parse_date(item.get("previsaoEntrega"), problems)
    events = _tracking_events(item.get("tracking"), problems)
    error = _error(item.get("erro"), problems)
    if error is not None and events:
        problems.append(f"erro {error.message!r} came with tracking events; the events are kept")
        error = None
    return TrackingResult(code, tuple(events), expected, error, tuple(problems))


def _identifier(item: dict[str, Any]) -> str | None:
    for key in KEYS:
        value = item.get(key)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
            return str(value).strip()
    return None


def _tracking_events(tracking: Any, problems: list[str]) -> list[TrackingEvent]:
    if tracking is None:
        return []
    if not isinstance(tracking, dict):
        problems.append(f"'tracking' is a {type(tracking).__name__}, expected an object; ignored")
        return []
    raw_events = tracking.get("eventos")
    if not raw_events:
        status = tracking.get("status")
        if isinstance(status, str) and status.strip():
            problems.append(f"tracking.status {status.strip()!r} came without dated events; not used")
        return []
    if not isinstance(raw_events, list):
        problems.append(f"tracking.eventos is a {type(raw_events).__name__}, expected a list; ignored")
        return []
    return _events(raw_events, problems)


def _events(raw_events: list[Any], problems: list[str]) -> list[TrackingEvent]:
    dated: list[tuple[datetime, dict[str, Any]]] = []
    for index, raw in enumerate(raw_events):
        if not isinstance(raw, dict):
            problems.append(f"tracking.eventos[{index}] is a {type(raw).__name__}, expected an object; skipped")
            continue
        when = _parse_time(raw.get("data"))
        if when is None:
            problems.append(
                f"event {event_code(raw.get('status'))!r} has no valid data (got {raw.get('data')!r}, "
                "expected yyyy-mm-dd hh:mm:ss); skipped"
            )
            continue
        dated.append((when, raw))
    dated.sort(key=lambda pair: pair[0])  # stable: events of the same second keep Jadlog's order

    events: list[TrackingEvent] = []
    for when, raw in dated:
        code = event_code(raw.get("status"))
        info = lookup(raw.get("status"))
        if info is None:
            safe = events[-1].status if events else Status.IN_TRANSIT
            problems.append(f"unknown Jadlog status {code!r}; kept as {safe}")
            events.append(_event(raw, when, code, safe, None, _text(raw.get("status")) or code, known=False))
        else:
            events.append(_event(raw, when, code, info.status, info.reason, info.description))
    return events


def _event(
    raw: dict[str, Any],
    when: datetime,
    code: str,
    status: Status,
    reason: Any,
    description: str,
    *,
    known: bool = True,
) -> TrackingEvent:
    return TrackingEvent(
        occurred_at=when,
        code=code,
        status=status,
        reason=reason,
        description=description,
        location=_location(raw.get("unidade")),
        detail=_text(raw.get("descricao")),
        known_code=known,
        raw=raw,
    )


def _error(erro: Any, problems: list[str]) -> ResultError | None:
    if erro is None or erro == {}:
        return None
    if not isinstance(erro, dict):
        problems.append(f"'erro' is a {type(erro).__name__}, expected an object; ignored")
        return None
    number, description, detail = erro.get("id"), _text(erro.get("descricao")), _text(erro.get("detalhe"))
    if number is None and description is None and detail is None:
        return None
    message = description or f"erro {number}"
    if detail and detail != description:
        message = f"{message}: {detail}"
    message = message[:200]
    words = event_code(message)  # folded: accents dropped, upper case
    if any(w in words for w in NOT_FOUND_WORDS):
        return ResultError(NOT_FOUND, message, final=False)
    if any(w in words for w in INVALID_WORDS):
        return ResultError(INVALID, message, final=True)
    code = f"erro-{number}" if isinstance(number, str | int) and not isinstance(number, bool) else "erro"
    return ResultError(code, message, final=False)


def _location(unit: Any) -> str | None:
    if isinstance(unit, str):
        return unit.strip() or None
    if isinstance(unit, dict):
        city, uf = _text(unit.get("cidade")), _text(unit.get("uf"))
        if city and uf:
            return f"{city}/{uf}"
        return city or _text(unit.get("nome"))
    return None


def _text(value: Any) -> str | None:
    if isinstance(value, str | int) and not isinstance(value, bool):
        return str(value).strip() or None
    return None


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    parsed = _read_time(value.strip())
    if parsed is None:
        return None
    return parsed.replace(tzinfo=LOCAL_TZ) if parsed.tzinfo is None else parsed


def _read_time(value: str) -> datetime | None:
    """``yyyy-mm-dd hh:mm:ss`` (or with a ``T``, or an offset), else ``dd/mm/yyyy hh:mm[:ss]``."""
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        pass
    for fmt in LOCAL_FORMATS:
        try:
            return datetime.strptime(value, fmt)
        except ValueError:
            continue
    return None


def _parse_date(value: Any, problems: list[str]) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        text = value.strip()
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
        try:
            return datetime.strptime(text, "%d/%m/%Y").date()
        except ValueError:
            pass
        parsed = _parse_time(text)
        if parsed is not None:
            return parsed.date()
    problems.append(f"previsaoEntrega {value!r} is not a date (expected yyyy-mm-dd or yyyy-mm-dd hh:mm:ss); ignored")
    return None


def _shape(payload: Any) -> str:
    if not isinstance(payload, dict):
        return type(payload).__name__
    erro = payload.get("erro")
    said = f" (erro: {str(erro)[:120]!r})" if erro else ""
    return f"keys {sorted(payload)[:8]}{said}"
