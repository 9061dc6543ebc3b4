"""Claims: those not filed yet, the window closing soonest first (business days left), with the amounts at
stake and recovered, and the packet to file; mark one as filed with the carrier's protocol, record the carrier's
answer and the payment (the moves of ``POST /v1/claims/{id}/filed|answer|payment``). Filed ones are listed newest
first, a page at a time."""

from collections.abc import Awaitable, Callable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path as FilePath
from typing import Annotated, Any, Literal, cast

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import Select, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from claims import NOT_FILED, Actions, Claim, ClaimError, Verdict, business_days_left, claims_of, packet_html
from dashboard.labels import label
from dashboard.models import UNFILED
from dashboard.users import Role
from dashboard.web import Current, PageRoute, back, local, page, read_form, require
from tracker.models import Shipment
from tracker.problems import ProblemError
from tracker.web import MAX_ID, fetch_page, runtime

router = APIRouter(prefix="/dashboard", route_class=PageRoute, include_in_schema=False)
PAGE = 25
CLAIMS = "/dashboard/claims"
_UNFILED = [s.value for s in NOT_FILED]
PACKET_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; img-src data:; style-src 'unsafe-inline'",
    "X-Content-Type-Options": "nosniff",
}


def claims_query(view: str) -> Select[Any]:
    query: Select[Any] = select(Claim, Shipment.tracking_code).join(Shipment, Shipment.id == Claim.shipment_id)  # type: ignore[assignment]
    if view == "open":
        return query.where(text(f"claims.{UNFILED}")).order_by(Claim.closes_at, Claim.id)  # its index's condition
    return query.where(Claim.status.not_in(_UNFILED)).order_by(Claim.id.desc())


@router.get("/claims")
async def claims_list(
    request: Request,
    who: Current,
    view: Literal["open", "filed"] = "open",
    cursor: Annotated[str | None, Query(max_length=100)] = None,
    offset: Annotated[int, Query(ge=0, le=10_000)] = 0,
    note: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    rt = runtime(request)
    service, now = claims_of(rt), rt.clock.now()
    async with rt.sessions() as session:
        if view == "open":  # by window (indexed by status, closes_at); the open ones are few
            rows = list((await session.execute(claims_query(view).offset(offset).limit(PAGE + 1))).all())
            next_cursor, more = None, len(rows) > PAGE
            rows = rows[:PAGE]
        else:
            rows, next_cursor = await fetch_page(
                session, claims_query(view), key=Claim.id, limit=PAGE, cursor=cursor, id_of=lambda r: int(r[0].id)
            )
            more = False
    shown = [
        (c, code, business_days_left(now, c.closes_at, service.calendar) if c.status in _UNFILED else None)
        for c, code in rows
    ]
    return page(
        request,
        "claims",
        who,
        rows=shown,
        view=view,
        next_cursor=next_cursor,
        next_offset=offset + PAGE if more else None,
        label=label,
        note=note,
        can_act=who.role.can(Role.OPS),
    )


ClaimId = Annotated[int, Path(ge=1, le=MAX_ID)]
Move = Callable[[AsyncSession, Actions, datetime], Awaitable[Any]]
VERDICTS = ("approved", "partially_approved", "denied")


def amount(form: dict[str, str], required: bool) -> Decimal | None:
    """``189,90``, ``1.189,90`` or ``189.90`` → R$; empty → None (unless required)."""
    text_ = form.get("amount", "").strip().replace("R$", "").strip()
    if not text_ and not required:
        return None
    if "," in text_:
        text_ = text_.replace(".", "").replace(",", ".")
    try:
        value = Decimal(text_)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or value < 0 or value >= Decimal("1e10") or len(text_) > 20:
        raise ProblemError(422, "Valor inválido", f"valor {text_[:20]!r}: escreva em reais, como 189,90")
    return value.quantize(Decimal("0.01"))


async def _move(request: Request, claim_id: int, act: Move, done: str, to: str) -> Response:
    rt = runtime(request)
    async with rt.sessions() as session, session.begin():
        try:
            await act(session, Actions(claims_of(rt)), rt.clock.now())
        except ClaimError as exc:
            raise ProblemError(409 if exc.field == "status" else 422, "Reclamação não alterada", str(exc)) from None
        except LookupError:
            raise ProblemError(404, "Reclamação não encontrada", f"não há reclamação {claim_id}") from None
    return back(to, done)


@router.post("/claims/{claim_id}/filed")
async def mark_filed(request: Request, who: Current, claim_id: ClaimId) -> Response:
    require(who, Role.OPS)
    form = await read_form(request, who.csrf)
    protocol = form.get("protocol", "")
    return await _move(
        request,
        claim_id,
        lambda s, a, now: a.mark_filed(s, claim_id, protocol, actor=who.email, now=now),
        "Reclamação marcada como aberta na transportadora.",
        local(form.get("back"), CLAIMS),
    )


@router.post("/claims/{claim_id}/answer")
async def record_answer(request: Request, who: Current, claim_id: ClaimId) -> Response:
    require(who, Role.OPS)
    form = await read_form(request, who.csrf)
    verdict = form.get("verdict", "")
    if verdict not in VERDICTS:
        raise ProblemError(
            422, "Resposta inválida", f"resposta {verdict[:30]!r}: escolha aprovada, aprovada em parte ou negada"
        )
    value, message = amount(form, required=False), form.get("message", "")[:2000]
    return await _move(
        request,
        claim_id,
        lambda s, a, now: a.record_answer(
            s, claim_id, cast(Verdict, verdict), amount=value, message=message, actor=who.email, now=now
        ),
        "Resposta da transportadora registrada.",
        local(form.get("back"), CLAIMS),
    )


@router.post("/claims/{claim_id}/payment")
async def record_payment(request: Request, who: Current, claim_id: ClaimId) -> Response:
    require(who, Role.OPS)
    form = await read_form(request, who.csrf)
    value = amount(form, required=True)
    assert value is not None
    return await _move(
        request,
        claim_id,
        lambda s, a, now: a.record_payment(s, claim_id, value, paid_at=now, actor=who.email, now=now),
        "Pagamento registrado.",
        local(form.get("back"), CLAIMS),
    )


@router.get("/claims/{claim_id}/packet")
async def claim_packet(request: Request, who: Current, claim_id: ClaimId) -> Response:
    """The packet to file by hand (or to read), as the carrier sees it."""
    rt = runtime(request)
    async with rt.sessions() as session:
        try:
            html = await packet_html(session, claim_id, FilePath(rt.settings.uploads_dir))
        except LookupError:
            raise ProblemError(404, "Reclamação não encontrada", f"não há reclamação {claim_id}") from None
    return HTMLResponse(html, headers=PACKET_HEADERS)
