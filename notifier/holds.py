"""Customer messages held back by the destination's clock: quiet hours (the message waits for their end)
and the daily cap (customer messages per shipment per local day; those sent, or queued for wa.me, count,
except the triggers the cap never holds back: the delivery and its check-in)."""

from collections import Counter
from collections.abc import Collection, Sequence
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession

from notifier.models import notifications_table
from notifier.vocabulary import NotificationStatus
from tracker.calendar import timezone_of

_n = notifications_table.c
COUNTED = (NotificationStatus.SENT.value, NotificationStatus.QUEUED.value)  # toward the daily cap


async def sent_today_of(
    session: AsyncSession,
    shipments: Sequence[Row[Any]],
    now: datetime,
    ops: Collection[str],
    uncapped: Collection[str] = (),
) -> Counter[int]:
    """Customer messages (channels not in ``ops``, triggers not in ``uncapped``) of each shipment that went to
    their channel or the wa.me queue since the start of the destination's local day."""
    midnight = {s.id: _midnight(now, s.destination_state) for s in shipments}
    query = select(_n.shipment_id, _n.handed_at).where(
        _n.shipment_id.in_(list(midnight)),
        _n.status.in_(COUNTED),
        _n.handed_at >= min(midnight.values()),
        _n.channel.not_in(ops),
        _n.trigger.not_in(uncapped),
    )
    found = await session.execute(query)
    return Counter(sid for sid, at in found if at >= midnight[sid])


def _midnight(now: datetime, uf: str | None) -> datetime:
    """When the destination's local day of ``now`` began."""
    local = now.astimezone(timezone_of(uf))
    return datetime.combine(local.date(), time(), local.tzinfo)


def quiet_until(window: tuple[time, time] | None, now: datetime, uf: str | None) -> datetime | None:
    """The end of the quiet hours when ``now`` falls within them (destination's local time), else None."""
    if window is None:
        return None
    start, end = window
    local = now.astimezone(timezone_of(uf))
    t = local.time()
    quiet = start <= t or t < end if start > end else start <= t < end
    if not quiet:
        return None
    day = local.date() + timedelta(days=1) if start > end and t >= start else local.date()
    return datetime.combine(day, end, local.tzinfo)
