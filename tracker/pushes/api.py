"""``POST /v1/webhooks/carriers/{carrier}``: the one door every pushing carrier calls.

In order: the carrier must take pushes; the body is read within :data:`MAX_BODY`; the push must carry the push
credentials of one of that carrier's accounts (the carrier's own scheme: Basic, an HMAC header, …) before a byte
of it is parsed; the adapter must read it (a result that can name no shipment is left out and said); then it is
stored once (encrypted; a replay is recognised by its SHA-256 and changes nothing) and answered at once. What it
says is applied in the background, through the same pipeline as a poll (``tracker.pushes.apply``).
"""

import structlog
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from carriers.base import CarrierError, CarrierSpec
from carriers.base.registry import UnknownCarrier
from carriers.base.registry import get as get_carrier
from tracker.openapi import PUSH_BASIC, PUSH_SIGNED
from tracker.pushes.apply import usable
from tracker.pushes.service import applier_of
from tracker.pushes.signers import Signer, Signers
from tracker.pushes.store import push_store
from tracker.runtime import Runtime
from tracker.text import line_problem
from tracker.web import DirectRoute, FieldError, ProblemError, read_body, read_json, responses, runtime

log = structlog.get_logger(__name__)
router = APIRouter(route_class=DirectRoute)
MAX_BODY = 1_000_000  # bytes; a carrier's push speaks of a few packages
MAX_RESULTS = 1_000  # shipments one push may speak of
REPLAYED = "Push-Replayed"


class PushAnswer(BaseModel):
    push_id: int
    shipments: int  # how many shipments the push speaks of (and will be applied)
    replayed: bool  # the same body was received before: nothing changed
    refused: list[str] = []  # why each result that can name no shipment was left out


def _spec(name: str) -> CarrierSpec:
    try:
        spec = get_carrier(name)
    except UnknownCarrier:
        spec = None
    if spec is None or not spec.pushes:
        shown = repr(name[:40]) if line_problem(name) is None else "given"
        message = f"carrier {shown} takes no pushes here"
        errors = [FieldError(field="carrier", message=message)]
        raise ProblemError(404, "No push door for this carrier", message, errors)
    return spec


def _make_signers(rt: Runtime) -> Signers:
    return Signers(rt.sessions, rt.vault, rt.clock)


def _signer(spec: CarrierSpec, headers: dict[str, str], body: bytes, signers: list[Signer]) -> int | None:
    """The first account whose push credentials the request carries; an adapter's fault counts as no."""
    assert spec.verify_push is not None
    for account_id, credentials in signers:
        try:
            if spec.verify_push(headers, body, credentials):
                return account_id
        except Exception as exc:  # a third-party adapter's bug must not answer 500 (nor let the push in)
            log.error("push_verify_failed", carrier=spec.name, account_id=account_id, error=type(exc).__name__)
    return None


async def carrier_push(request: Request) -> Response:
    spec = _spec(request.path_params["carrier"])
    body = await read_body(request, MAX_BODY)
    rt = runtime(request)
    signers = await rt.service(_make_signers).of(spec)
    account_id = _signer(spec, {k.lower(): v for k, v in request.headers.items()}, body, signers)
    if account_id is None:  # the caller hears no more than that; the log says why, for ops
        log.warning("push_refused", carrier=spec.name, accounts_with_push_credentials=len(signers), size=len(body))
        raise ProblemError(
            401, "Push not authenticated", f"the push does not carry a {spec.name} account's push credentials"
        )
    payload = read_json(body)
    try:
        results, refused = usable(spec.parse_webhook(payload))
    except Exception as exc:  # a CarrierError says what is wrong; anything else is the adapter's fault, still 4xx
        log.warning("push_unreadable", carrier=spec.name, error=type(exc).__name__)
        message = str(exc)[:500] if isinstance(exc, CarrierError) else ""
        detail = message or f"the {spec.name} adapter could not read this push ({type(exc).__name__})"
        raise ProblemError(422, "Invalid push", detail, [FieldError(field="(body)", message=detail)]) from None
    if len(results) > MAX_RESULTS:
        detail = f"the push speaks of {len(results)} shipments; at most {MAX_RESULTS} per push"
        raise ProblemError(413, "Push too large", detail)
    if refused and not results:
        errors = [FieldError(field="tracking_code", message=why) for why in refused[:20]]
        raise ProblemError(422, "Invalid push", "no result in the push names a shipment", errors)
    push_id, replayed = await push_store(rt).store(spec.name, account_id, body, len(results))
    if not replayed:
        applier_of(rt).kick()
    answer = PushAnswer(push_id=push_id, shipments=len(results), replayed=replayed, refused=refused[:20])
    return JSONResponse(
        answer.model_dump(), status_code=200 if replayed else 202, headers={REPLAYED: "true"} if replayed else None
    )


router.add_api_route(
    "/v1/webhooks/carriers/{carrier}",
    carrier_push,
    methods=["POST"],
    status_code=202,
    response_model=PushAnswer,
    responses={
        200: {"model": PushAnswer, "description": "A replay: received before, nothing changed"},
        **responses(400, 401, 404, 413, 415, 422),
    },
    summary="A carrier pushes tracking updates (authenticated the carrier's own way)",
    openapi_extra={
        "security": [{PUSH_BASIC: []}, {PUSH_SIGNED: []}],
        "parameters": [
            {
                "name": "carrier",
                "in": "path",
                "required": True,
                "schema": {"type": "string", "maxLength": 32},
                "description": "The pushing carrier, e.g. loggi or melhorenvio (zelo carriers list says which push)",
            }
        ],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}},
    },
    description=(
        "Each pushing carrier signs as it does (Loggi: HTTP Basic with the account's webhook_user and "
        "webhook_password; Melhor Envio: X-ME-Signature, the HMAC-SHA256 of the body with the app secret). "
        "Answered as soon as the push is stored; what it says is applied in the background."
    ),
)
