"""Shipments: find one by order number, tracking code, external id or the customer's e-mail (each an indexed
equality), or list the newest, a page at a time; and one shipment's timeline in one column: the carrier's
events, its incidents, the messages, the check-in answer and the claims, newest first."""

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from sqlalchemy import Select, func, or_, select

from claims import Claim
from dashboard.labels import choices, label
from dashboard.users import Role
from dashboard.web import Current, PageRoute, money, page
from notifier import Checkin, Notification
from tracker.detector import Incident, IncidentChange
from tracker.models import Shipment, TrackingEvent
from tracker.problems import ProblemError
from tracker.web import MAX_ID, fetch_page, runtime

router = APIRouter(prefix="/dashboard", route_class=PageRoute, include_in_schema=False)
PAGE = 25
MAX_EVENTS = 300  # a parcel's whole journey; more is a carrier's loop, shown as its newest


@dataclass(frozen=True, slots=True)
class Item:
    at: datetime
    kind: str  # event | incident | message | checkin | claim
    title: str
    detail: str = ""
    muted: bool = False


def search_query(q: str | None, status: str | None, carrier: str | None) -> Select[Any]:
    query = select(Shipment).order_by(Shipment.id.desc())
    if q:
        term = q.strip()
        query = query.where(
            or_(
                Shipment.tracking_code == term.upper(),
                Shipment.order_number == term,
                Shipment.external_id == term,
                func.lower(Shipment.customer_email) == term.lower(),
            )
        )
    if status:
        query = query.where(Shipment.status == status)
    if carrier:
        query = query.where(Shipment.carrier == carrier)
    return query


@router.get("/shipments")
async def shipments(
    request: Request,
    who: Current,
    q: Annotated[str | None, Query(max_length=320)] = None,
    status: Annotated[str | None, Query(max_length=32)] = None,
    carrier: Annotated[str | None, Query(max_length=32)] = None,
    cursor: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    rt = runtime(request)
    async with rt.sessions() as session:
        rows, next_cursor = await fetch_page(
            session, search_query(q, status, carrier), key=Shipment.id, limit=PAGE, cursor=cursor, scalars=True
        )
    return page(
        request,
        "shipments",
        who,
        rows=rows,
        q=q or "",
        status=status or "",
        carrier=carrier or "",
        statuses=choices("shipment_statuses"),
        next_cursor=next_cursor,
        label=label,
    )


async def timeline(session: Any, shipment_id: int) -> list[Item]:
    items: list[Item] = []
    events = await session.scalars(
        select(TrackingEvent)
        .where(TrackingEvent.shipment_id == shipment_id)
        .order_by(TrackingEvent.occurred_at.desc())
        .limit(MAX_EVENTS)
    )
    for e in events:
        where = f" — {e.location}" if e.location else ""
        items.append(Item(e.occurred_at, "event", e.description, f"{e.code}{where}", muted=e.voided))
    incidents = list(await session.scalars(select(Incident).where(Incident.shipment_id == shipment_id)))
    for i in incidents:
        items.append(Item(i.opened_at, "incident", f"Ocorrência: {label('kinds', i.kind)}", i.next_action))
    if incidents:
        changes = await session.scalars(
            select(IncidentChange).where(IncidentChange.incident_id.in_([i.id for i in incidents]))
        )
        kinds = {i.id: i.kind for i in incidents}
        for c in changes:
            if c.action != "opened":
                title = f"Ocorrência {label('kinds', kinds[c.incident_id])}: {c.action} por {c.actor}"
                items.append(Item(c.at, "incident", title, c.note or ""))
    for n in await session.scalars(select(Notification).where(Notification.shipment_id == shipment_id)):
        title = f"Mensagem ({label('channels', n.channel)}): {label('triggers', n.trigger)}"
        items.append(Item(n.sent_at or n.created_at, "message", title, label("notification_statuses", n.status)))
    checkin = await session.scalar(select(Checkin).where(Checkin.shipment_id == shipment_id))
    if checkin is not None:
        items.append(
            Item(
                checkin.answered_at,
                "checkin",
                f"Resposta do cliente: {label('answers', checkin.answer)}",
                checkin.comment or "",
            )
        )
    for c in await session.scalars(select(Claim).where(Claim.shipment_id == shipment_id)):
        items.append(
            Item(
                c.created_at, "claim", f"Reclamação {c.claim_type}: {label('claim_statuses', c.status)}", c.amount_rule
            )
        )
        if c.filed_at is not None:
            items.append(Item(c.filed_at, "claim", f"Reclamação aberta na transportadora, protocolo {c.protocol}"))
        if c.paid_at is not None:
            items.append(Item(c.paid_at, "claim", f"Indenização paga: {money(c.amount_paid)}"))
    return sorted(items, key=lambda item: item.at, reverse=True)


@router.get("/shipments/{shipment_id}")
async def shipment(request: Request, who: Current, shipment_id: Annotated[int, Path(ge=1, le=MAX_ID)]) -> Response:
    rt = runtime(request)
    async with rt.sessions() as session:
        row = await session.get(Shipment, shipment_id)
        if row is None:
            raise ProblemError(404, "Envio não encontrado", f"não há envio {shipment_id}")
        items = await timeline(session, shipment_id)
    return page(request, "shipment", who, s=row, items=items, label=label, can_act=who.role.can(Role.OPS))
