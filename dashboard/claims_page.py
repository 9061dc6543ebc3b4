"""Claims: those not filed yet, the window closing soonest first (business days left), with the amounts at
stake and recovered; mark one as filed with the carrier's protocol (the move of ``POST /v1/claims/{id}/filed``).
Filed ones are listed newest first, a page at a time."""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from sqlalchemy import Select, select, text

from claims import NOT_FILED, Actions, Claim, ClaimError, business_days_left, claims_of
from dashboard.labels import label
from dashboard.models import UNFILED
from dashboard.users import Role
from dashboard.web import Current, PageRoute, back, page, read_form, require
from tracker.models import Shipment
from tracker.problems import ProblemError
from tracker.web import MAX_ID, fetch_page, runtime

router = APIRouter(prefix="/dashboard", route_class=PageRoute, include_in_schema=False)
PAGE = 25
_UNFILED = [s.value for s in NOT_FILED]


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


@router.post("/claims/{claim_id}/filed")
async def mark_filed(request: Request, who: Current, claim_id: Annotated[int, Path(ge=1, le=MAX_ID)]) -> Response:
    require(who, Role.OPS)
    form = await read_form(request, who.csrf)
    rt = runtime(request)
    async with rt.sessions() as session, session.begin():
        try:
            await Actions(claims_of(rt)).mark_filed(
                session, claim_id, form.get("protocol", ""), actor=who.email, now=rt.clock.now()
            )
        except ClaimError as exc:
            raise ProblemError(409 if exc.field == "status" else 422, "Reclamação não alterada", str(exc)) from None
        except LookupError:
            raise ProblemError(404, "Reclamação não encontrada", f"não há reclamação {claim_id}") from None
    return back("/dashboard/claims", "Reclamação marcada como aberta na transportadora.")
