"""HTTP routes for claims: find them, read one with its filings and history, its packet (HTML or PDF), and a
person's moves: approve, filed with protocol N, the carrier's answer, the payment, withdraw, reactivate.

A move the lifecycle refuses is a problem naming the field: 409 when the claim's status forbids it, 422 when a
value is wrong."""

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path as FilePath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from carriers.base import CarrierError
from carriers.base.registry import carriers
from claims import claims_of, follower_of, packet
from claims.evidence import gather
from claims.lifecycle import Actions, ClaimError
from claims.models import Claim, ClaimChange, ClaimFiling
from claims.schemas import (
    ClaimBrief,
    ClaimChangeOut,
    ClaimDetail,
    ClaimFilingOut,
    ClaimOut,
    ClaimPage,
    MarkFiled,
    Reason,
    RecordAnswer,
    RecordPayment,
)
from claims.service import Claims
from claims.vocabulary import NOT_FILED, ClaimStatus
from claims.windows import CARRIER_ZONE, business_days_left
from tracker.models import Shipment
from tracker.runtime import Runtime
from tracker.shipments import Part
from tracker.vocabulary import Kind
from tracker.web import MAX_ID, FieldError, Principal, ProblemError, Route, fetch_page, needs, responses, runtime

router = APIRouter(route_class=Route)
ClaimId = Annotated[int, Path(ge=1, le=MAX_ID)]
PACKET_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; img-src data:; style-src 'unsafe-inline'",
    "X-Content-Type-Options": "nosniff",
}
_MOVES = responses(400, 401, 403, 404, 409, 422)


def claims_query(
    *,
    status: ClaimStatus | None = None,
    carrier: str | None = None,
    kind: Kind | None = None,
    closes_before: date | None = None,
    shipment_id: int | None = None,
    unfiled: bool = False,
) -> Select[Any]:
    """Claims with their tracking code, newest first."""
    query: Select[Any] = select(Claim, Shipment.tracking_code).join(Shipment, Shipment.id == Claim.shipment_id)  # type: ignore[assignment]
    query = query.order_by(Claim.id.desc())
    for column, value in ((Claim.status, status), (Claim.carrier, carrier), (Claim.kind, kind)):
        if value is not None:
            query = query.where(column == value)
    if closes_before is not None:
        query = query.where(Claim.closes_at < datetime.combine(closes_before, time.min, CARRIER_ZONE))
    if shipment_id is not None:
        query = query.where(Claim.shipment_id == shipment_id)
    if unfiled:
        query = query.where(Claim.status.in_([s.value for s in NOT_FILED]))
    return query


def claim_fields(claim: Claim, tracking_code: str, service: Claims, now: datetime) -> dict[str, Any]:
    fields = {c.key: getattr(claim, c.key) for c in Claim.__table__.columns}
    left = None
    if ClaimStatus(claim.status) in NOT_FILED:
        left = business_days_left(now, claim.closes_at, service.calendar)
    return fields | {"tracking_code": tracking_code, "business_days_left": left}


def _known_carrier(carrier: str | None) -> None:
    known = carriers()
    if carrier is not None and carrier not in known:
        message = f"unknown carrier {carrier!r}; expected one of: {', '.join(known)}"
        raise ProblemError(422, "Invalid request", message, [FieldError(field="carrier", message=message)])


@router.get("/v1/claims", response_model=ClaimPage, responses=responses(401, 403, 422), summary="Find claims")
async def list_claims(
    request: Request,
    who: Annotated[Principal, needs("read")],
    status: ClaimStatus | None = None,
    carrier: Annotated[str | None, Query(max_length=32)] = None,
    kind: Annotated[Kind | None, Query(description="The incident kind the claim came from")] = None,
    closes_before: Annotated[date | None, Query(description="Window closing before this day (Brasília)")] = None,
    shipment_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(max_length=100)] = None,
) -> ClaimPage:
    _known_carrier(carrier)
    rt = runtime(request)
    query = claims_query(
        status=status, carrier=carrier, kind=kind, closes_before=closes_before, shipment_id=shipment_id
    )
    async with rt.sessions() as session:
        rows, next_cursor = await fetch_page(
            session, query, key=Claim.id, limit=limit, cursor=cursor, id_of=lambda row: int(row[0].id)
        )
    service, now = claims_of(rt), rt.clock.now()
    return ClaimPage(
        claims=[ClaimOut(**claim_fields(c, code, service, now)) for c, code in rows], next_cursor=next_cursor
    )


async def _detail(rt: Runtime, session: AsyncSession, claim_id: int) -> ClaimDetail:
    row = (await session.execute(claims_query().where(Claim.id == claim_id))).first()
    if row is None:
        raise ProblemError(404, "Claim not found", f"no claim with id {claim_id}")
    filings = await session.scalars(
        select(ClaimFiling).where(ClaimFiling.claim_id == claim_id).order_by(ClaimFiling.id)
    )
    changes = await session.scalars(
        select(ClaimChange).where(ClaimChange.claim_id == claim_id).order_by(ClaimChange.id)
    )
    return ClaimDetail(
        **claim_fields(row[0], row[1], claims_of(rt), rt.clock.now()),
        packet_url=f"/v1/claims/{claim_id}/packet",
        filings=[ClaimFilingOut.model_validate(f) for f in filings],
        changes=[ClaimChangeOut.model_validate(c) for c in changes],
    )


@router.get("/v1/claims/{claim_id}", response_model=ClaimDetail, responses=responses(401, 403, 404, 422))
async def get_claim(request: Request, claim_id: ClaimId, who: Annotated[Principal, needs("read")]) -> ClaimDetail:
    rt = runtime(request)
    async with rt.sessions() as session:
        return await _detail(rt, session, claim_id)


@router.get(
    "/v1/claims/{claim_id}/packet",
    response_class=Response,
    responses={200: {"content": {"text/html": {}, "application/pdf": {}}}, **responses(401, 403, 404, 422)},
    summary="The claim packet to file with the carrier (pt-BR): HTML, or PDF with ?format=pdf",
)
async def get_packet(
    request: Request,
    claim_id: ClaimId,
    who: Annotated[Principal, needs("read")],
    format_: Annotated[Literal["html", "pdf"], Query(alias="format")] = "html",
) -> Response:
    rt = runtime(request)
    async with rt.sessions() as session:
        try:
            evidence = await gather(session, claim_id, "carrier")
        except LookupError:
            raise ProblemError(404, "Claim not found", f"no claim with id {claim_id}") from None
    photo = packet.photo_of(evidence, FilePath(rt.settings.uploads_dir))
    if format_ == "pdf":
        body = await asyncio.to_thread(packet.pdf, evidence, photo)
        disposition = {"Content-Disposition": f'inline; filename="{packet.filename(evidence, ".pdf")}"'}
        return Response(body, media_type="application/pdf", headers=PACKET_HEADERS | disposition)
    html = await asyncio.to_thread(packet.html, evidence, photo)
    return Response(html, media_type="text/html; charset=utf-8", headers=PACKET_HEADERS)


def _refused(exc: ClaimError) -> ProblemError:
    status = 409 if exc.field == "status" else 422
    return ProblemError(status, "Claim not changed", str(exc), [FieldError(field=exc.field, message=str(exc))])


async def _act(rt: Runtime, claim_id: int, act: Callable[[AsyncSession, Actions], Awaitable[Any]]) -> ClaimDetail:
    async with rt.sessions() as session:
        async with session.begin():
            try:
                await act(session, Actions(claims_of(rt)))
            except ClaimError as exc:
                raise _refused(exc) from None
            except LookupError:
                raise ProblemError(404, "Claim not found", f"no claim with id {claim_id}") from None
        return await _detail(rt, session, claim_id)


@router.post(
    "/v1/claims/{claim_id}/approve",
    response_model=ClaimDetail,
    responses=_MOVES,
    summary="The store's approval: file it as soon as it is ready",
)
async def approve(request: Request, claim_id: ClaimId, who: Annotated[Principal, needs("write")]) -> ClaimDetail:
    rt = runtime(request)
    return await _act(rt, claim_id, lambda s, a: a.approve(s, claim_id, actor=who.name, now=rt.clock.now()))


@router.post(
    "/v1/claims/{claim_id}/filed",
    response_model=ClaimDetail,
    responses=_MOVES,
    summary="Filed by a person: the carrier's protocol number",
)
async def mark_filed(
    request: Request, claim_id: ClaimId, body: MarkFiled, who: Annotated[Principal, needs("write")]
) -> ClaimDetail:
    rt = runtime(request)
    return await _act(
        rt, claim_id, lambda s, a: a.mark_filed(s, claim_id, body.protocol, actor=who.name, now=rt.clock.now())
    )


@router.post(
    "/v1/claims/{claim_id}/answer",
    response_model=ClaimDetail,
    responses=_MOVES,
    summary="The carrier's verdict, with the amount approved",
)
async def record_answer(
    request: Request, claim_id: ClaimId, body: RecordAnswer, who: Annotated[Principal, needs("write")]
) -> ClaimDetail:
    rt = runtime(request)
    amount = Decimal(body.amount) if body.amount is not None else None
    return await _act(
        rt,
        claim_id,
        lambda s, a: a.record_answer(
            s, claim_id, body.verdict, amount=amount, message=body.message, actor=who.name, now=rt.clock.now()
        ),
    )


@router.post(
    "/v1/claims/{claim_id}/payment",
    response_model=ClaimDetail,
    responses=_MOVES,
    summary="The money arrived: the amount paid, reconciled against the amount approved",
)
async def record_payment(
    request: Request, claim_id: ClaimId, body: RecordPayment, who: Annotated[Principal, needs("write")]
) -> ClaimDetail:
    rt = runtime(request)
    return await _act(
        rt,
        claim_id,
        lambda s, a: a.record_payment(
            s, claim_id, Decimal(body.amount), paid_at=body.paid_at, actor=who.name, now=rt.clock.now()
        ),
    )


@router.post(
    "/v1/claims/{claim_id}/withdraw",
    response_model=ClaimDetail,
    responses=_MOVES,
    summary="Give the claim up (e.g. the parcel turned up), with the reason",
)
async def withdraw(
    request: Request, claim_id: ClaimId, body: Reason, who: Annotated[Principal, needs("write")]
) -> ClaimDetail:
    rt = runtime(request)
    return await _act(
        rt, claim_id, lambda s, a: a.withdraw(s, claim_id, body.reason, actor=who.name, now=rt.clock.now())
    )


@router.post(
    "/v1/claims/{claim_id}/reactivate",
    response_model=ClaimDetail,
    responses=_MOVES,
    summary="Reopen a denied claim with the store's reason (once)",
)
async def reactivate(
    request: Request, claim_id: ClaimId, body: Reason, who: Annotated[Principal, needs("write")]
) -> ClaimDetail:
    rt = runtime(request)
    try:
        await follower_of(rt).reactivate(claim_id, body.reason, actor=who.name, now=rt.clock.now())
    except ClaimError as exc:
        raise _refused(exc) from None
    except CarrierError as exc:  # the claim's filer cannot reach or cannot do it: nothing changed
        raise ProblemError(502, "Claim not reactivated", f"the carrier did not take it: {exc}") from None
    except LookupError:
        raise ProblemError(404, "Claim not found", f"no claim with id {claim_id}") from None
    async with rt.sessions() as session:
        return await _detail(rt, session, claim_id)


async def _claims(session: AsyncSession, shipment_id: int) -> Iterable[Claim]:
    return await session.scalars(select(Claim).where(Claim.shipment_id == shipment_id).order_by(Claim.id))


CLAIMS = Part("claims", ClaimBrief, _claims)  # the shipment's detail lists its claims
