"""The sandbox speaking Loggi: its token and tracking routes, and the webhooks Loggi sends (:data:`VOICE`).

Routes (checked in this order): ``POST /v2/oauth2/token`` (JSON ``client_id``/``client_secret``; the secret
``"wrong"`` is refused with 401; the answer's ``idToken`` is a JWT whose ``exp`` is the sandbox token expiry) and
``GET /v1/companies/{company_id}/packages/{code}/tracking`` (bearer token 401, then :func:`gate.refused`, then a
package Loggi does not know — unregistered, a scenario without events, or none visible yet — is 404
``{"message": ...}``, the not-found answer this adapter reads).

The scenario stories are said in Loggi's codes (:func:`carriers.sandbox.speak.said_by` on codes.csv). Two Correios
events have no Loggi word: a reversal (``EST``) removes itself and the event it cancels from the history once it is
visible (Loggi corrects its history rather than adding a reversal), and an event missing from the Correios table
is said as the code ``999``, which Loggi's table lacks too. So polling Loggi gives the parcel the same normalized
status as polling Correios, at every instant.
"""

import base64
import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from carriers.base.vocabulary import Status
from carriers.correios.codes import lookup as correios_lookup
from carriers.correios.parse import REVERSAL
from carriers.loggi.codes import table
from carriers.loggi.push import basic_authorization
from carriers.sandbox.control import counted
from carriers.sandbox.gate import refused
from carriers.sandbox.model import Event, Seen
from carriers.sandbox.pushes import Speaker
from carriers.sandbox.speak import said_by
from carriers.sandbox.state import SandboxState
from carriers.sandbox.voice import Voice

CARRIER = "loggi"
TOKEN_PATH = "/v2/oauth2/token"
TRACK_PATH = "/v1/companies/{company_id}/packages/{code}/tracking"
WRONG_SECRET = "wrong"
UNKNOWN_CODE = "999"
PUSH_BATCH = 50  # packages per webhook body
NOT_FOUND = "Pacote não encontrado."
HIGH_LEVEL = {  # highLevelStatus per normalized status; only "Entregue" is Loggi's confirmed word
    Status.PENDING: "Aguardando coleta",
    Status.POSTED: "Coletado",
    Status.IN_TRANSIT: "Em trânsito",
    Status.OUT_FOR_DELIVERY: "Saiu para entrega",
    Status.DELIVERY_FAILED: "Entrega não realizada",
    Status.AWAITING_PICKUP: "Aguardando retirada",
    Status.DELIVERED: "Entregue",
    Status.RETURNING: "Em devolução",
    Status.RETURNED: "Devolvido",
    Status.LOST: "Extraviado",
    Status.HELD: "Retido",
}


def routes(state: SandboxState) -> list[BaseRoute]:
    async def token(request: Request) -> Response:
        try:
            body = json.loads(await request.body())
        except ValueError:
            return _message(400, "Corpo da requisição inválido: JSON esperado.")
        fields = {k: body.get(k) if isinstance(body, dict) else None for k in ("client_id", "client_secret")}
        missing = [k for k, v in fields.items() if not isinstance(v, str) or not v.strip()]
        if missing:
            return _message(400, f"Informe {' e '.join(missing)}.")
        if fields["client_secret"] == WRONG_SECRET:
            return _message(401, "Credenciais inválidas.")
        value, issued, expires = state.issue_token()
        claims = {"sub": fields["client_id"], "iat": int(issued.timestamp()), "exp": int(expires.timestamp())}
        jwt = _jwt(claims, signature=value)
        state.tokens[jwt] = state.tokens.pop(value)  # the JWT is the token the sandbox now accepts
        return JSONResponse({"idToken": jwt})

    async def track(request: Request) -> Response:
        scheme, _, bearer = request.headers.get("authorization", "").partition(" ")
        bearer = bearer.strip() if scheme.lower() == "bearer" else ""
        if not state.token_valid(bearer):
            return _message(401, "Token inválido ou expirado.")
        refusal = await refused(state, CARRIER, bearer)
        if refusal is not None:
            return refusal
        seen = state.seen(CARRIER, str(request.path_params["code"]).strip().upper())
        history = tracking_history(seen.events) if seen is not None else []
        if seen is None or not history:
            return _message(404, NOT_FOUND)
        state.counters.objects_returned += 1
        return JSONResponse({"packages": [package(seen, history)]})

    return [
        Route(TOKEN_PATH, counted(state, "loggi_token", token), methods=["POST"]),
        Route(TRACK_PATH, counted(state, "loggi_track", track), methods=["GET"]),
    ]


def tracking_history(events: Sequence[tuple[Event, datetime]]) -> list[dict[str, Any]]:
    """The scenario events seen so far as Loggi's ``trackingHistory`` items, oldest first, reversals applied."""
    items: list[dict[str, Any]] = []
    for event, when in events:
        if event.type == REVERSAL:
            if items:
                items.pop()
            continue
        items.append({"status": _status(event, when), "location": {"city": event.city, "state": event.uf}})
    return items


def package(seen: Seen, history: list[dict[str, Any]]) -> dict[str, Any]:
    """One package as Loggi's tracking answer and webhook show it (the latest event is its ``status``)."""
    latest = history[-1]
    code = seen.parcel.code
    return {
        "trackingCode": code,
        "loggiKey": loggi_key(code),
        "status": latest["status"],
        "location": latest["location"],
        "promisedDate": seen.promised.isoformat(),
        "trackingHistory": history,
    }


def bodies(seens: Sequence[Seen]) -> list[tuple[bytes, tuple[str, ...]]]:
    """Webhook bodies: up to :data:`PUSH_BATCH` packages each, with the codes each carries."""
    packages = []
    for seen in seens:
        history = tracking_history(seen.events)
        if history:
            request_time = _stamp(seen.events[-1][1])
            packages.append((seen.parcel.code, {**package(seen, history), "requestTime": request_time}))
    out = []
    for start in range(0, len(packages), PUSH_BATCH):
        chunk = packages[start : start + PUSH_BATCH]
        body = json.dumps({"packages": [p for _, p in chunk]}, ensure_ascii=False).encode()
        out.append((body, tuple(code for code, _ in chunk)))
    return out


def headers(body: bytes, credentials: Mapping[str, str]) -> dict[str, str]:
    """Signed as Loggi signs: Basic auth with the target's ``webhook_user``/``webhook_password``."""
    user, password = credentials.get("webhook_user", ""), credentials.get("webhook_password", "")
    return {"content-type": "application/json", "authorization": basic_authorization(user, password)}


def loggi_key(code: str) -> str:
    """A stable 26-character loggiKey for a tracking code (Loggi's look: upper-case letters and digits)."""
    return base64.b32encode(hashlib.sha256(code.encode()).digest()).decode()[:26]


def _status(event: Event, when: datetime) -> dict[str, Any]:
    if correios_lookup(event.type, event.status) is None:  # a code no carrier's table has: said as such
        code, description, high_level = UNKNOWN_CODE, event.description, "Atualização"
    else:
        info = said_by(table(), event)
        code, description, high_level = info.code, info.description, HIGH_LEVEL[info.status]
    return {
        "code": code,
        "highLevelStatus": high_level,
        "description": description,
        "actionRequired": None,
        "updatedTime": _stamp(when),
    }


def _stamp(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _jwt(claims: dict[str, Any], *, signature: str) -> str:
    """A JWT-shaped token (unsigned: the sandbox checks it by lookup) carrying ``claims``."""

    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}.{signature}"


def _message(status: int, message: str) -> JSONResponse:
    return JSONResponse({"message": message}, status_code=status)


VOICE = Voice(CARRIER, routes, Speaker(bodies, headers))
