"""The sandbox speaking Total Express: ``POST /ics-tracking-encomenda-lv/v1/tracking`` with HTTP Basic auth.

Checks, in order: Basic credentials (401 when missing or garbled, or when the password is ``wrong``), then
:func:`gate.refused` (outage or injected error 503, rate limit 429, latency), then the body (400 unless it is
``{"awbs": [...]}`` with 1 to 50 AWBs). Each AWB is answered in the shape ``carriers/totalexpress/parse.py``
models: its history in Total Express's status IDs (:func:`history`), or the "not found" entry for an AWB the
sandbox has no Total Express parcel for, one whose scenario never has events, or one with no event yet.
"""

import json
import zlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from carriers.correios.codes import lookup as correios_lookup
from carriers.sandbox import gate
from carriers.sandbox.control import counted
from carriers.sandbox.model import Event
from carriers.sandbox.speak import local, said_by
from carriers.sandbox.state import SandboxState
from carriers.sandbox.voice import Voice
from carriers.totalexpress.client import BATCH_LIMIT, TRACK_PATH
from carriers.totalexpress.codes import table

CARRIER = "totalexpress"
WRONG_PASSWORD = "wrong"
NOT_FOUND = "AWB não localizada"
REVERSAL = "EST"  # Correios' "disregard the previous event": Total Express has none, the pair is left out
UNKNOWN_ID = "999"  # what a scenario event unknown to the Correios table is said as: an ID Total Express lacks


def history(events: Sequence[tuple[Event, datetime]]) -> list[dict[str, Any]]:
    """A parcel's visible scenario events as Total Express statuses, oldest first."""
    said: list[dict[str, Any]] = []
    for event, when in events:
        if event.type == REVERSAL:
            if said:
                said.pop()
            continue
        if correios_lookup(event.type, event.status) is None:
            status_id, text = UNKNOWN_ID, event.description
        else:
            info = said_by(table(), event)
            status_id, text = info.code, info.description
        said.append({"CodStatus": int(status_id), "DescStatus": text, "DataStatus": local(when), "Cidade": event.city})
    return said


def entry(state: SandboxState, awb: str) -> dict[str, Any]:
    seen = state.seen(CARRIER, awb)
    said = history(seen.events) if seen is not None and seen.scenario.message is None else []
    if not said:
        return {"AWB": awb, "Pedido": None, "Historico": [], "Mensagem": NOT_FOUND}
    return {"AWB": awb, "Pedido": str(zlib.crc32(awb.encode()) % 1_000_000), "Historico": said}


def routes(state: SandboxState) -> list[BaseRoute]:
    async def track(request: Request) -> Response:
        user, password = gate.basic_credentials(request.headers.get("authorization", ""))
        if not user or not password:
            return _error(401, "Credenciais ausentes ou inválidas: use Authorization: Basic usuário:senha.")
        if password == WRONG_PASSWORD:
            return _error(401, "Usuário ou senha inválidos.")
        refused = await gate.refused(state, CARRIER, user)
        if refused is not None:
            return refused
        try:
            body = json.loads(await request.body())
        except ValueError:
            return _error(400, "Corpo da requisição inválido: JSON esperado.")
        awbs = body.get("awbs") if isinstance(body, dict) else None
        if not isinstance(awbs, list) or not all(isinstance(a, str) and a.strip() for a in awbs):
            return _error(400, "Informe 'awbs': uma lista de AWBs (o sandbox não consulta por 'pedidos').")
        if not awbs:
            return _error(400, "Informe ao menos uma AWB em 'awbs'.")
        if len(awbs) > BATCH_LIMIT:
            return _error(400, f"Foram informadas {len(awbs)} AWBs; o máximo é {BATCH_LIMIT} por consulta.")
        entries = [entry(state, awb.strip().upper()) for awb in awbs]
        state.counters.objects_returned += len(entries)
        return JSONResponse(entries)

    return [Route(TRACK_PATH, counted(state, CARRIER, track), methods=["POST"])]


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"mensagem": message}, status_code=status)


VOICE = Voice(CARRIER, routes)
