"""The sandbox ASGI app: the Correios CWS token, SRO Rastro and pedido-informacao endpoints, plus ``/_sandbox``.

Tracking and pedido-informacao checks run in this order: bearer token (401), outage (503), rate limit (429,
empty body, ``Retry-After: 1`` on odd rejections only), injected latency, then the request itself (400 or 200).
"""

import asyncio
import json
import time

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from carriers.sandbox.control import control_routes, counted, msgs
from carriers.sandbox.gate import basic_credentials
from carriers.sandbox.pi_routes import pi_routes
from carriers.sandbox.push_routes import push_routes
from carriers.sandbox.pushes import Pusher
from carriers.sandbox.scenarios import local_time
from carriers.sandbox.state import SandboxState
from carriers.sandbox.voices import speakers, voices

TOKEN_PATH = "/token/v1/autentica/cartaopostagem"
TRACK_PATH = "/srorastro/v1/objetos"
BATCH_LIMIT = 50
WRONG_ACCESS_CODE = "wrong"
CONTRACT = "9912345678"
RESULTS = {"T": "Todos os Eventos", "U": "Último Evento", "P": "Primeiro Evento"}


def create_app(state: SandboxState, pusher: Pusher | None = None) -> Starlette:
    """A Starlette app serving ``state`` for Correios and every carrier of :func:`voices`; several apps may share
    one state. ``pusher`` sends the pushing carriers' webhooks (``/_sandbox/webhooks``, ``/_sandbox/push``)."""
    pusher = pusher if pusher is not None else Pusher(state, speakers())

    async def token(request: Request) -> Response:
        user, access_code = basic_credentials(request.headers.get("authorization", ""))
        if not user or not access_code:
            return msgs(401, "Credenciais ausentes ou inválidas: use Authorization: Basic usuário:código de acesso.")
        if access_code == WRONG_ACCESS_CODE:
            return msgs(401, "Usuário ou código de acesso inválido.")
        try:
            body = json.loads(await request.body())
        except ValueError:
            return msgs(400, "Corpo da requisição inválido: JSON esperado.")
        card = body.get("numero") if isinstance(body, dict) else None
        if not isinstance(card, str | int) or isinstance(card, bool) or not str(card).strip():
            return msgs(400, "Informe o número do cartão de postagem em 'numero'.")
        value, issued, expires = state.issue_token()
        return JSONResponse(
            {
                "ambiente": "PRODUCAO",
                "id": user,
                "cartaoPostagem": {"numero": str(card), "contrato": CONTRACT, "dr": 74},
                "emissao": local_time(issued),
                "expiraEm": local_time(expires),
                "zoneOffset": "-03:00",
                "token": value,
            },
            status_code=201,
        )

    async def gate(request: Request) -> Response | None:
        """The refusal a bearer-token call meets before it is read, or None."""
        scheme, _, bearer = request.headers.get("authorization", "").partition(" ")
        bearer = bearer.strip() if scheme.lower() == "bearer" else ""
        if not state.token_valid(bearer):
            return msgs(401, "Token inválido ou expirado.")
        if state.faults.in_outage(state.clock.now()):
            return msgs(503, "Serviço temporariamente indisponível. Tente novamente mais tarde.")
        rejection = state.admit(bearer)
        if rejection is not None:
            return Response(status_code=429, headers={"Retry-After": "1"} if rejection % 2 else None)
        if state.faults.latency_ms > 0:
            await asyncio.sleep(state.faults.latency_ms / 1000)
        return None

    async def track(request: Request) -> Response:
        state.counters.track_started.append(time.monotonic())
        arrived = time.time()
        codes = _codes(request)
        if "codigo" in request.path_params:
            codes.insert(0, str(request.path_params["codigo"]).strip().upper())
        response = await answer(request, codes)
        if state.log is not None:
            state.log.add(arrived, response.status_code, codes)
        return response

    async def answer(request: Request, codes: list[str]) -> Response:
        refused = await gate(request)
        if refused is not None:
            return refused
        result = request.query_params.get("resultado", "T").upper()
        if result not in RESULTS:
            return msgs(400, f"Parâmetro resultado inválido: {result!r}; use T, U ou P.")
        if not codes:
            return msgs(400, "Informe ao menos um código de objeto em codigosObjetos.")
        if len(codes) > BATCH_LIMIT:
            return msgs(400, f"Foram informados {len(codes)} objetos; o máximo de 50 objetos por consulta.")
        objects = state.render(codes)
        if result != "T":
            objects = [_one_event(obj, first=result == "P") for obj in objects]
        state.counters.objects_returned += len(objects)
        payload = {"objetos": objects, "quantidade": len(objects), "resultado": RESULTS[result], "versao": "sandbox"}
        return JSONResponse(payload)

    routes = [
        Route(TOKEN_PATH, counted(state, "token", token), methods=["POST"]),
        Route(TRACK_PATH, counted(state, "track", track), methods=["GET"]),
        Route(TRACK_PATH + "/{codigo}", counted(state, "track", track), methods=["GET"]),
        *pi_routes(state, CONTRACT, gate),
        *(route for voice in voices() for route in voice.routes(state)),
        *control_routes(state),
        *push_routes(state, pusher),
    ]
    return Starlette(routes=routes)


def _codes(request: Request) -> list[str]:
    """Codes from ``codigosObjetos``: comma-separated, repeated, or both; blanks dropped, order kept."""
    return [
        code.strip().upper()
        for value in request.query_params.getlist("codigosObjetos")
        for code in value.split(",")
        if code.strip()
    ]


def _one_event(obj: dict[str, object], *, first: bool) -> dict[str, object]:
    events = obj.get("eventos")
    if not isinstance(events, list) or not events:
        return obj
    return {**obj, "eventos": events[-1:] if first else events[:1]}
