"""Job functions of the notifier, queue-agnostic (the embedded loop and arq call them with ``ctx``)."""

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from notifier.alerts import queue_sla_alerts
from notifier.dispatcher import DispatchReport
from notifier.models import notifications_table
from notifier.service import dispatcher_of, outbox_of
from notifier.vocabulary import WAITING
from tracker.db import count_upto
from tracker.runtime import runtime_of

OVERDUE_AFTER = timedelta(minutes=5)  # dispatch runs every 30 s; a send lease is 2 minutes


async def dispatch(ctx: dict[str, Any]) -> DispatchReport:
    """Deliver every notification due now."""
    return await dispatcher_of(runtime_of(ctx)).run_once()


async def sla_alerts(ctx: dict[str, Any]) -> int:
    """Queue ops alerts for incidents whose triage deadline is near."""
    runtime = runtime_of(ctx)
    async with runtime.sessions() as session, session.begin():
        return await queue_sla_alerts(session, outbox_of(runtime), runtime.clock.now())


async def overdue_messages(session: AsyncSession, now: datetime) -> int:
    """Messages due (or left ``sending`` past their lease) minutes ago: no dispatch run took them (up to 10,000)."""
    n = notifications_table.c
    return await count_upto(session, select(n.id).where(n.status.in_(WAITING), n.due_at < now - OVERDUE_AFTER), 10_000)
