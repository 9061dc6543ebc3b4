"""Ops alerts the clock brings: an incident whose triage deadline (SLA) is about to pass, still open.
Queued once per incident and deadline (a reopened incident gets a new deadline, so a new alert)."""

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from notifier.models import notifications_table
from notifier.outbox import Outbox, queue_row
from notifier.vocabulary import Trigger
from tracker.db import insert_skipping_duplicates
from tracker.detector import incidents_table
from tracker.vocabulary import IncidentStatus

WARN_BEFORE = timedelta(hours=1)
_i = incidents_table.c


async def queue_sla_alerts(session: AsyncSession, outbox: Outbox, now: datetime) -> int:
    """Alerts for open incidents whose triage deadline falls within the next hour; how many were queued."""
    channels = outbox.ops_channels(Trigger.OPS_SLA)
    if not channels:
        return 0
    query = select(_i.id, _i.shipment_id, _i.kind, _i.severity, _i.owner, _i.triage_due_at).where(
        _i.status == IncidentStatus.OPEN.value, _i.triage_due_at > now, _i.triage_due_at <= now + WARN_BEFORE
    )
    rows: list[dict[str, Any]] = []
    for r in await session.execute(query):
        facts = {"kind": r.kind, "severity": r.severity, "owner": r.owner, "triage_due_at": r.triage_due_at.isoformat()}
        for channel in channels:
            key = f"ops_sla:{r.id}:{r.triage_due_at.isoformat()}:{channel}"
            due = outbox.policy.due(channel, now)
            rows.append(queue_row(r.shipment_id, Trigger.OPS_SLA, channel, key, facts, now, due, r.id))
    if not rows:
        return 0
    insert = insert_skipping_duplicates(session, notifications_table, ["dedupe_key"])
    return len((await session.execute(insert.returning(notifications_table.c.id), rows)).all())
