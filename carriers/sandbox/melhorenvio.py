"""The sandbox's Melhor Envio voice: the tracking call, the OAuth2 refresh, and Melhor Envio's webhooks.

``POST /api/v2/me/shipment/tracking`` checks, in order: the bearer token (401 ``Unauthenticated.`` when absent,
``wrong``, or a refreshed token past its lifetime; any other token is taken), the ``User-Agent`` Melhor Envio
requires (``App name (contact email)``: Melhor Envio's documentation requires it but does not say what it
answers without one; the sandbox answers 400), then ``gate.refused`` (outage, error rate, 429, latency), then
the body. An order id the sandbox does not know (or a parcel of a never-found scenario) is answered as a 422
validation error naming ``orders.<index>`` (the Laravel shape; Melhor Envio's own not-found answer is not
documented publicly). ``POST /oauth/token`` renews a token (``grant_type=refresh_token``); a ``wrong`` client
secret is 401 ``invalid_client``, a ``wrong`` refresh token 400 ``invalid_grant``.

Webhooks: one per order whose newest visible scenario event changed its Melhor Envio status (in-transit
events all say ``posted``, so they push nothing); when several changes became visible between two flushes,
only the newest is pushed, its dates carrying the earlier milestones. Signed with ``X-ME-Signature``: the
HMAC-SHA256 of the body keyed with the target's ``app_secret``, base64-encoded as Melhor Envio's
documentation gives it.
"""

import json
import secrets
from collections.abc import Mapping, Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from carriers.melhorenvio.push import sign
from carriers.sandbox import melhorenvio_orders as orders
from carriers.sandbox.control import counted
from carriers.sandbox.gate import refused
from carriers.sandbox.model import Seen
from carriers.sandbox.pushes import Speaker
from carriers.sandbox.state import SandboxState
from carriers.sandbox.voice import Voice

CARRIER = "melhorenvio"
TRACK_PATH = "/api/v2/me/shipment/tracking"
TOKEN_PATH = "/oauth/token"
WRONG = "wrong"
BATCH_LIMIT = 100
INVALID_DATA = "The given data was invalid."


def routes(state: SandboxState) -> list[BaseRoute]:
    async def track(request: Request) -> Response:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        token = token.strip() if scheme.lower() == "bearer" else ""
        if not token or token == WRONG or (token in state.tokens and not state.token_valid(token)):
            return JSONResponse({"message": "Unauthenticated."}, status_code=401)
        agent = request.headers.get("user-agent", "").strip()
        if not agent:
            return JSONResponse({"message": "Informe o header User-Agent: Nome da aplicação (email)."}, 400)
        if "(" not in agent or "@" not in agent.partition("(")[2]:
            return JSONResponse({"message": f"User-Agent {agent!r} sem e-mail de contato: use 'App (email)'."}, 400)
        if (refusal := await refused(state, CARRIER, token)) is not None:
            return refusal
        ids = await _orders(request)
        if isinstance(ids, str):
            return _invalid({"orders": [ids]})
        now = state.clock.now()
        found: dict[str, Any] = {}
        unknown: dict[str, list[str]] = {}
        for index, order_id in enumerate(ids):
            seen = _seen(state, order_id)
            if seen is None or not orders.exists(seen, now):
                unknown[f"orders.{index}"] = [f"O campo orders.{index} selecionado é inválido."]
            else:
                found[order_id.strip().lower()] = orders.order(seen, now)
        if unknown:
            return _invalid(unknown)
        state.counters.objects_returned += len(found)
        return JSONResponse(found)

    async def token(request: Request) -> Response:
        form = await _form(request)
        if form.get("grant_type") != "refresh_token":
            return JSONResponse({"error": "unsupported_grant_type", "message": "Use grant_type=refresh_token."}, 400)
        if not form.get("client_id") or form.get("client_secret") in (None, "", WRONG):
            message = "Client authentication failed"
            return JSONResponse({"error": "invalid_client", "error_description": message, "message": message}, 401)
        if form.get("refresh_token") in (None, "", WRONG):
            message = "The refresh token is invalid."
            return JSONResponse({"error": "invalid_grant", "error_description": message, "message": message}, 400)
        if (refusal := await refused(state, CARRIER, str(form["client_id"]))) is not None:
            return refusal
        value, issued, expires = state.issue_token()
        renewed = secrets.token_urlsafe(32)  # the refresh token rotates too
        return JSONResponse(
            {
                "token_type": "Bearer",
                "expires_in": int((expires - issued).total_seconds()),
                "access_token": value,
                "refresh_token": renewed,
            }
        )

    return [
        Route(TRACK_PATH, counted(state, "melhorenvio.track", track), methods=["POST"]),
        Route(TOKEN_PATH, counted(state, "melhorenvio.token", token), methods=["POST"]),
    ]


def bodies(seen: Sequence[Seen]) -> list[tuple[bytes, tuple[str, ...]]]:
    """One webhook per order whose newest visible event is a change of Melhor Envio status."""
    out: list[tuple[bytes, tuple[str, ...]]] = []
    for parcel in seen:
        changes = orders.milestones(parcel)
        if changes and parcel.events and changes[-1].at == parcel.events[-1][1]:
            payload = orders.webhook(parcel, changes[-1])
            out.append((json.dumps(payload, ensure_ascii=False).encode(), (parcel.parcel.code,)))
    return out


def headers(body: bytes, credentials: Mapping[str, str]) -> dict[str, str]:
    """Signed with the target's ``app_secret``; a target without one gets unsigned pushes (and refuses them)."""
    secret = credentials.get("app_secret")
    signed = {"X-ME-Signature": sign(body, secret)} if secret else {}
    return {"Content-Type": "application/json", "User-Agent": "Melhor Envio Webhooks (sandbox)", **signed}


def _seen(state: SandboxState, order_id: str) -> Seen | None:
    for code in dict.fromkeys((order_id.strip().upper(), order_id.strip(), order_id.strip().lower())):
        seen = state.seen(CARRIER, code)
        if seen is not None:
            return seen
    return None


async def _orders(request: Request) -> list[str] | str:
    """The ``orders`` asked for, or what is wrong with them (Laravel's pt-BR validation texts)."""
    try:
        body = json.loads(await request.body())
    except ValueError:
        body = {}
    ids = body.get("orders") if isinstance(body, dict) else None
    if not isinstance(ids, list) or not ids:
        return "O campo orders é obrigatório e deve ser uma lista de ids de pedidos."
    if len(ids) > BATCH_LIMIT:
        return f"O campo orders não pode ter mais de {BATCH_LIMIT} itens."
    if not all(isinstance(i, str) for i in ids):
        return "Cada item de orders deve ser um id de pedido (texto)."
    return ids


async def _form(request: Request) -> dict[str, Any]:
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            body = json.loads(await request.body())
        except ValueError:
            return {}
        return body if isinstance(body, dict) else {}
    return dict((await request.form()).items())


def _invalid(errors: dict[str, list[str]]) -> JSONResponse:
    return JSONResponse({"message": INVALID_DATA, "errors": errors}, status_code=422)


VOICE = Voice(CARRIER, routes, Speaker(bodies, headers))
