"""HTTP routes of the ERP's door: the signed webhook and the shipments API."""

import hashlib
import json
from collections.abc import Iterable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from tracker.ingest.docs import IDEMPOTENCY_KEY, shipment_openapi, webhook_openapi
from tracker.ingest.models import IdempotencyKey, ShipmentRevision
from tracker.ingest.schemas import (
    MAX_BATCH,
    IngestResponse,
    ItemResult,
    RevisionOut,
    UpsertAnswer,
    parse_all,
    parse_item,
)
from tracker.ingest.service import Valid, upsert, valid, with_retry
from tracker.ingest.sql import SqlStore
from tracker.ingest.state import IngestState
from tracker.models import Shipment
from tracker.shipments import Part, ShipmentOut
from tracker.signatures import MalformedHeader, SignatureError, verify
from tracker.web import (
    DirectRoute,
    FieldError,
    Principal,
    ProblemError,
    Route,
    needs,
    read_body,
    read_json,
    responses,
    runtime,
)

router = APIRouter(route_class=Route)
REPLAYED = "Idempotent-Replayed"  # as Stripe names it: the answer is the stored one of an earlier request


def _state(request: Request) -> IngestState:
    state: IngestState = request.app.state.ingest
    return state


async def erp_webhook(request: Request) -> Response:
    state = _state(request)
    if not state.webhook_keys:
        raise ProblemError(503, "ERP webhook not configured", "set ZELO_ERP_WEBHOOK_SECRETS to the whsec_ secret(s)")
    body = await read_body(request, state.max_body)
    try:
        webhook_id = verify(state.webhook_keys, request.headers, body, runtime(request).clock.now())
    except MalformedHeader as exc:
        error = FieldError(field=exc.header, message=str(exc))
        raise ProblemError(400, exc.title, str(exc), [error]) from None
    except SignatureError as exc:
        raise ProblemError(401, "Invalid webhook signature", str(exc)) from None
    source = f"webhook:{webhook_id}"
    accepted: list[Valid] = []
    rejected: list[ItemResult] = []
    everything = parse_all(body)  # the usual case, and the cheaper path; else item by item, saying what is wrong
    if everything is not None:
        accepted = [valid(index, shipment, source) for index, shipment in enumerate(everything)]
    else:
        for index, raw in enumerate(_envelope(body)):
            shipment, failure = parse_item(index, raw)
            if shipment is not None:
                accepted.append(valid(index, shipment, source))
            elif failure is not None:
                rejected.append(failure)
    answer, replayed = await state.batcher.submit(webhook_id, hashlib.sha256(body).hexdigest(), accepted, rejected)
    headers = {"webhook-replayed": "true"} if replayed else None
    return Response(answer, status_code=202, headers=headers, media_type="application/json")


router.add_api_route(
    "/v1/webhooks/erp",
    erp_webhook,
    methods=["POST"],
    status_code=202,
    response_model=IngestResponse,
    responses=responses(400, 401, 409, 413, 415, 422, 503),
    openapi_extra=webhook_openapi(),
    summary="ERP pushes shipments (Standard Webhooks signature)",
    route_class_override=DirectRoute,  # the hot route: its endpoint is called directly
)


def _envelope(body: bytes) -> list[Any]:
    payload = read_json(body, exact=True)
    if not isinstance(payload, dict):
        raise ProblemError(422, "Invalid envelope", f"expected a JSON object, got {type(payload).__name__}")
    errors = []
    if payload.get("type") != "shipment.upsert":
        errors.append(FieldError(field="type", message=f"type {payload.get('type')!r}: expected 'shipment.upsert'"))
    data = payload.get("data")
    shipments = data.get("shipments") if isinstance(data, dict) else None
    if not isinstance(shipments, list):
        errors.append(FieldError(field="data.shipments", message="expected a list of shipments"))
    elif len(shipments) > MAX_BATCH:
        errors.append(FieldError(field="data.shipments", message=f"{len(shipments)} shipments; at most {MAX_BATCH}"))
    if errors:
        raise ProblemError(422, "Invalid envelope", "nothing was stored", errors)
    assert isinstance(shipments, list)
    return shipments


async def _json_object(request: Request) -> dict[str, Any]:
    body = read_json(await read_body(request, _state(request).max_body), exact=True)
    if not isinstance(body, dict):
        raise ProblemError(422, "Invalid shipment", f"expected a JSON object, got {type(body).__name__}")
    return body


_UNREAD = "; `shipment` is null for a key without the read scope (it holds the customer's contacts)"


@router.post(
    "/v1/shipments",
    response_model=UpsertAnswer,
    status_code=201,
    response_description=f"Created{_UNREAD}",
    responses={
        200: {"model": UpsertAnswer, "description": f"Updated or unchanged{_UNREAD}"},
        **responses(400, 401, 403, 409, 413, 415, 422),
    },
    summary="Create or update one shipment",
    openapi_extra=shipment_openapi(REPLAYED),
)
async def post_shipment(
    request: Request,
    body: Annotated[dict[str, Any], Depends(_json_object)],
    who: Annotated[Principal, needs("write")],
    idempotency_key: Annotated[str | None, Header(max_length=255, description=IDEMPOTENCY_KEY)] = None,
) -> JSONResponse:
    shipment, failure = parse_item(0, body)
    if failure is not None:
        raise ProblemError(422, "Invalid shipment", "nothing was stored", failure.errors)
    assert shipment is not None
    digest = hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()
    now = runtime(request).clock.now()

    async def work(session: Any) -> tuple[int, dict[str, Any], bool]:
        if idempotency_key:
            seen = await session.scalar(
                select(IdempotencyKey).where(
                    IdempotencyKey.api_key_id == who.key_id, IdempotencyKey.key == idempotency_key
                )
            )
            if seen is not None:
                if seen.request_hash != digest:
                    raise ProblemError(
                        409, "Idempotency-Key reused", f"key {idempotency_key!r} was used with a different body"
                    )
                stored = seen.response if who.allows("read") else seen.response | {"shipment": None}
                return seen.status_code, stored, True  # stored per API key; its scopes are checked again all the same
        [result] = await upsert(SqlStore(session), [valid(0, shipment)], source=f"api:{who.name}", now=now)
        if result.result == "rejected":
            raise ProblemError(422, "Shipment not accepted", "nothing was stored", result.errors)
        row = await session.get(Shipment, result.id) if who.allows("read") else None
        shown = None if row is None else ShipmentOut.of(row)  # write-only keys push, they never read customers
        answer = UpsertAnswer(result=result, shipment=shown).model_dump(mode="json")
        status = 201 if result.result == "created" else 200
        if idempotency_key:
            session.add(
                IdempotencyKey(
                    api_key_id=who.key_id,
                    key=idempotency_key,
                    request_hash=digest,
                    status_code=status,
                    response=answer,
                    created_at=now,
                )
            )
        return status, answer, False

    try:
        status, answer, replayed = await with_retry(runtime(request).sessions, work)
    except IntegrityError:
        raise ProblemError(409, "Concurrent request", "the same Idempotency-Key is in flight; retry") from None
    headers = {REPLAYED: "true"} if replayed else None
    return JSONResponse(answer, status_code=status, headers=headers)


async def _revisions(session: AsyncSession, shipment_id: int) -> Iterable[ShipmentRevision]:
    query = select(ShipmentRevision).where(ShipmentRevision.shipment_id == shipment_id).order_by(ShipmentRevision.id)
    return await session.scalars(query)


REVISIONS = Part("revisions", RevisionOut, _revisions)  # the shipment's detail lists what each update changed
