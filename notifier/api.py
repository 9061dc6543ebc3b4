"""HTTP routes for the outbox: what went out (or waits, or failed) and a resend of a failed message."""

from collections.abc import Iterable
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from notifier.models import Notification, NotificationAttempt
from notifier.schemas import NotificationOut, NotificationPage
from notifier.vocabulary import Channel, NotificationStatus, Trigger
from tracker.shipments import Part
from tracker.web import MAX_ID, Principal, ProblemError, Route, fetch_page, needs, responses, runtime

router = APIRouter(route_class=Route)
RESENDABLE = frozenset({NotificationStatus.FAILED.value, NotificationStatus.UNCERTAIN.value})


@router.get("/v1/notifications", response_model=NotificationPage, responses=responses(401, 403, 422))
async def list_notifications(
    request: Request,
    who: Annotated[Principal, needs("read")],
    status: NotificationStatus | None = None,
    channel: Channel | None = None,
    trigger: Trigger | None = None,
    shipment_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=100)] = None,
) -> NotificationPage:
    """Customer messages and ops alerts, newest first (the wa.me queue: ``channel=wa_link&status=queued``)."""
    query = select(Notification).order_by(Notification.id.desc())
    for column, value in (
        (Notification.status, status),
        (Notification.channel, channel),
        (Notification.trigger, trigger),
        (Notification.shipment_id, shipment_id),
    ):
        if value is not None:
            query = query.where(column == value)
    async with runtime(request).sessions() as session:
        rows, next_cursor = await fetch_page(
            session, query, key=Notification.id, limit=limit, cursor=cursor, scalars=True
        )
    return NotificationPage(notifications=[NotificationOut.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.post(
    "/v1/notifications/{notification_id}/resend",
    response_model=NotificationOut,
    responses=responses(401, 403, 404, 409, 422),
    summary="Send a failed (or uncertain) notification again",
)
async def resend(
    request: Request,
    notification_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    who: Annotated[Principal, needs("write")],
) -> NotificationOut:
    rt = runtime(request)
    now = rt.clock.now()
    async with rt.sessions() as session, session.begin():
        row = await session.get(Notification, notification_id, with_for_update=True)
        if row is None:
            raise ProblemError(404, "Notification not found", f"no notification with id {notification_id}")
        if row.status not in RESENDABLE:
            raise ProblemError(
                409, "Not resendable", f"notification {notification_id} is {row.status}; only failed or uncertain ones"
            )
        await session.execute(
            update(Notification)
            .where(Notification.id == notification_id)
            .values(status=NotificationStatus.PENDING.value, due_at=now, attempts=0, reason=None)
        )
        session.add(
            NotificationAttempt(notification_id=notification_id, at=now, outcome="resend", code=None, detail=who.name)
        )
    async with rt.sessions() as session:
        fresh = await session.get(Notification, notification_id)
        return NotificationOut.model_validate(fresh)


async def _notifications(session: AsyncSession, shipment_id: int) -> Iterable[Notification]:
    query = select(Notification).where(Notification.shipment_id == shipment_id).order_by(Notification.id)
    return await session.scalars(query)


NOTIFICATIONS = Part("notifications", NotificationOut, _notifications)  # the shipment's detail lists them
