"""The click-to-send queue: a wa.me message a person opened and sent by hand is marked sent, once, audited."""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from notifier.models import Notification, NotificationAttempt
from notifier.vocabulary import Channel, NotificationStatus


class NotQueued(ValueError):
    """The message is not (or no longer) waiting in the wa.me queue."""


async def mark_link_sent(session: AsyncSession, notification_id: int, *, actor: str, now: datetime) -> Notification:
    """``actor`` sent the queued wa.me message; in the caller's transaction. LookupError: no such message."""
    row = await session.scalar(select(Notification).where(Notification.id == notification_id).with_for_update())
    if row is None:
        raise LookupError(f"no notification {notification_id}")
    if row.channel != Channel.WA_LINK.value or row.status != NotificationStatus.QUEUED.value:
        raise NotQueued(
            f"notification {notification_id} is a {row.channel} message, {row.status}: not in the wa.me queue"
        )
    row.status, row.sent_at = NotificationStatus.SENT.value, now
    session.add(NotificationAttempt(notification_id=row.id, at=now, outcome="sent", code="by_hand", detail=actor))
    return row
