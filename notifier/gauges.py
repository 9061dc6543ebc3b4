"""What the outbox shows Prometheus at scrape time: messages waiting, by channel and status."""

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from notifier.models import notifications_table
from notifier.vocabulary import WAITING
from tracker.probes import Sample


async def outbox_gauges(session: AsyncSession, now: datetime) -> list[Sample]:
    n = notifications_table.c
    due = n.due_at <= now
    rows = await session.execute(
        select(n.channel, n.status, func.count(), func.min(n.due_at))
        .where(n.status.in_(WAITING), due)
        .group_by(n.channel, n.status)
    )
    samples = []
    for channel, status, count, oldest in rows:
        labels = {"channel": channel, "status": status}
        samples.append(Sample("zelo_outbox_due", "Messages due now and not yet sent.", count, labels))
        age = (now - oldest).total_seconds()
        samples.append(
            Sample("zelo_outbox_oldest_due_seconds", "How long the oldest due message has waited.", age, labels)
        )
    return samples
