"""HTTP routes for the outbox: what went out (or waits, or failed), a resend of a failed message, a wa.me message
sent by hand; the photo a customer sent with the check-in that opened an incident."""

import pathlib
from collections.abc import Iterable
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import FileResponse
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from notifier.checkin import photo_file
from notifier.clicks import NotQueued, mark_link_sent
from notifier.models import Checkin, Notification, NotificationAttempt
from notifier.schemas import NotificationOut, NotificationPage
from notifier.vocabulary import Channel, NotificationStatus, Trigger
from tracker.shipments import Part
from tracker.web import MAX_ID, Principal, ProblemError, Route, fetch_page, needs, responses, runtime

router = APIRouter(route_class=Route)
RESENDABLE = frozenset({NotificationStatus.FAILED.value, NotificationStatus.UNCERTAIN.value})
PHOTO_TYPES = {".jpg": "image/jpeg", ".png": "image/png"}
PHOTO_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"}
PHOTO_HEADERS |= {"Content-Security-Policy": "default-src 'none'"}
PHOTO_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"description": "The photo", "content": {media: {} for media in PHOTO_TYPES.values()}}
}


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


@router.post(
    "/v1/notifications/{notification_id}/sent",
    response_model=NotificationOut,
    responses=responses(401, 403, 404, 409, 422),
    summary="A queued wa.me message was sent by hand: mark it sent",
)
async def mark_sent(
    request: Request,
    notification_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    who: Annotated[Principal, needs("write")],
) -> NotificationOut:
    rt = runtime(request)
    async with rt.sessions() as session:
        async with session.begin():
            try:
                await mark_link_sent(session, notification_id, actor=who.name, now=rt.clock.now())
            except NotQueued as exc:
                raise ProblemError(409, "Not in the wa.me queue", str(exc)) from None
            except LookupError:
                raise ProblemError(
                    404, "Notification not found", f"no notification with id {notification_id}"
                ) from None
        fresh = await session.get(Notification, notification_id)
        return NotificationOut.model_validate(fresh)


@router.get(
    "/v1/incidents/{incident_id}/photo",
    response_class=FileResponse,
    responses=PHOTO_RESPONSE | responses(401, 403, 404, 422),
    summary="The photo the customer sent with the check-in that opened the incident",
)
async def incident_photo(
    request: Request,
    incident_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    who: Annotated[Principal, needs("read")],
) -> FileResponse:
    rt = runtime(request)
    async with rt.sessions() as session:
        name = await session.scalar(select(Checkin.photo_path).where(Checkin.incident_id == incident_id))
    path = photo_file(name, pathlib.Path(rt.settings.uploads_dir))
    if path is None:
        raise ProblemError(404, "Photo not found", f"incident {incident_id} has no check-in photo")
    return FileResponse(path, media_type=PHOTO_TYPES[path.suffix], headers=PHOTO_HEADERS)


async def _notifications(session: AsyncSession, shipment_id: int) -> Iterable[Notification]:
    query = select(Notification).where(Notification.shipment_id == shipment_id).order_by(Notification.id)
    return await session.scalars(query)


NOTIFICATIONS = Part("notifications", NotificationOut, _notifications)  # the shipment's detail lists them
