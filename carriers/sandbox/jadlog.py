"""The sandbox speaking Jadlog: ``POST /embarcador/api/tracking/consultar`` playing the scenario timelines.

Checks in this order: bearer token (401 when absent, empty or ``wrong``; any other token is Jadlog's static
token), then :func:`carriers.sandbox.gate.refused` (outage and injected errors 503, rate limit 429, latency),
then the body (400: not JSON, no ``consulta`` list, an entry naming no code, more than :data:`BATCH_LIMIT`).

Each scenario event is said as the first row of Jadlog's ``codes.csv`` with its meaning. Two Correios words
have no Jadlog counterpart: a reversal (``EST``) withdraws the event before it from the answer (Jadlog is not
known to send reversals), and an event the Correios table does not know is said as its own description, which
Jadlog's table does not know either. ``message`` scenarios, and parcels before their first event, answer
``erro`` "Não localizado"; the ``invalid`` scenario and unknown codes Jadlog's check refuses answer an invalid
code ``erro``. Events are listed oldest first, times local to Brasília (the order Jadlog uses is not confirmed).
"""

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from carriers.jadlog.codes import table
from carriers.jadlog.shipment import check_code
from carriers.sandbox.control import counted
from carriers.sandbox.gate import refused
from carriers.sandbox.model import SRO_019, Event, Seen
from carriers.sandbox.speak import local, meaning, said_by
from carriers.sandbox.state import SandboxState

CARRIER = "jadlog"
TRACK_PATH = "/embarcador/api/tracking/consultar"
BATCH_LIMIT = 50
WRONG_TOKEN = "wrong"
REVERSAL = "EST"
KEYS = ("shipmentId", "cte", "codigo")
NOT_FOUND = {"id": -1, "descricao": "Não localizado", "detalhe": "Nenhum registro encontrado para a consulta"}
INVALID = {"id": -2, "descricao": "Código inválido", "detalhe": "O código informado não é válido para consulta"}


def routes(state: SandboxState) -> list[BaseRoute]:
    """The Jadlog tracking route over ``state``, counted as ``jadlog_track``."""

    async def track(request: Request) -> Response:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        token = token.strip() if scheme.lower() == "bearer" else ""
        if not token or token == WRONG_TOKEN:
            return _error(401, "Token inválido ou ausente")
        refusal = await refused(state, CARRIER, token)
        if refusal is not None:
            return refusal
        try:
            body = json.loads(await request.body())
        except ValueError:
            return _error(400, "Corpo da requisição inválido: JSON esperado")
        consulta = body.get("consulta") if isinstance(body, dict) else None
        if not isinstance(consulta, list) or not consulta:
            return _error(400, "Informe ao menos uma consulta em 'consulta'")
        if len(consulta) > BATCH_LIMIT:
            return _error(400, f"Foram informadas {len(consulta)} consultas; o máximo é {BATCH_LIMIT} por requisição")
        asked = [_asked(entry) for entry in consulta]
        if any(a is None for a in asked):
            return _error(400, f"Cada consulta deve informar um de: {', '.join(KEYS)}")
        now = state.clock.now()
        items = [answer(key, code, state.seen(CARRIER, code, now)) for key, code in (a for a in asked if a)]
        state.counters.objects_returned += len(items)
        return JSONResponse({"consulta": items})

    return [Route(TRACK_PATH, counted(state, "jadlog_track", track), methods=["POST"])]


def answer(key: str, code: str, seen: Seen | None) -> dict[str, Any]:
    """Pure: the ``consulta`` entry Jadlog gives for ``code`` (asked under ``key``) as the parcel is ``seen``."""
    head: dict[str, Any] = {key: code}
    if seen is None:
        return head | {"erro": INVALID if check_code(code) else NOT_FOUND}
    if seen.scenario.message == SRO_019:
        return head | {"erro": INVALID}
    events = spoken(seen.events)
    if seen.scenario.message is not None or not events:
        return head | {"erro": NOT_FOUND}
    tracking = {"status": events[-1]["status"], "eventos": events}
    return head | {"previsaoEntrega": seen.promised.isoformat(), "tracking": tracking}


def spoken(events: tuple[tuple[Event, Any], ...]) -> list[dict[str, str]]:
    """Pure: the scenario events as Jadlog ``eventos``, oldest first; a reversal withdraws the event before it."""
    said: list[dict[str, str]] = []
    for event, when in events:
        if event.type == REVERSAL:
            if said:
                said.pop()
            continue
        said.append({"data": local(when), "status": status_text(event), "unidade": f"{event.city}/{event.uf}"})
    return said


def status_text(event: Event) -> str:
    """The Jadlog status of a scenario event; an event Correios' table does not know is said as its text."""
    try:
        meaning(event)
    except ValueError:
        return event.description.upper()
    return said_by(table(), event).code


def _asked(entry: Any) -> tuple[str, str] | None:
    if not isinstance(entry, dict):
        return None
    for key in KEYS:
        value = entry.get(key)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
            return key, str(value).strip()
    return None


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"erro": {"id": status, "descricao": message}}, status_code=status)
