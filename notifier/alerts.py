"""Ops alerts the clock brings: an open incident whose triage deadline (SLA) passes within the hour, or has
already passed (it was opened past it, or its hour went by while nothing ran: the alert says *overdue*).

One alert per incident and deadline, whichever of the two it is: the dedupe key is the incident, its deadline
and the channel, so a re-run, a second scheduler or a restart never queues it twice (a reopened incident gets
a new deadline, so a new alert). Incidents alerted since their last change (a deadline only changes with
one) are skipped in the query, so the overdue ones are not offered again on every run.
"""

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from notifier.models import notifications_table
from notifier.outbox import Outbox, queue_row
from notifier.vocabulary import Trigger
from tracker.db import insert_skipping_duplicates
from tracker.detector import incidents_table
from tracker.signals import Alert
from tracker.vocabulary import IncidentStatus

WARN_BEFORE = timedelta(hours=1)
BATCH = 1000  # incidents per run; the rest on the next one
_i, _n = incidents_table.c, notifications_table.c
_ALERTED = exists().where(  # an SLA alert since the incident last changed (the shipment's index finds it)
    _n.shipment_id == _i.shipment_id,
    _n.incident_id == _i.id,
    _n.trigger == Trigger.OPS_SLA.value,
    _n.created_at >= _i.updated_at,
)


async def queue_sla_alerts(session: AsyncSession, outbox: Outbox, now: datetime) -> int:
    """Alerts for open incidents whose triage deadline falls within the next hour or has passed, each once;
    how many were queued."""
    channels = outbox.ops_channels(Trigger.OPS_SLA)
    if not channels:
        return 0
    columns = (_i.id, _i.shipment_id, _i.kind, _i.severity, _i.owner, _i.next_action, _i.evidence, _i.triage_due_at)
    query = (
        select(*columns)
        .where(_i.status == IncidentStatus.OPEN.value, _i.triage_due_at <= now + WARN_BEFORE, ~_ALERTED)
        .order_by(_i.triage_due_at)
        .limit(BATCH)
    )
    rows: list[dict[str, Any]] = []
    for r in await session.execute(query):
        deadline = r.triage_due_at.isoformat()
        facts = {
            "kind": r.kind,
            "severity": r.severity,
            "owner": r.owner,
            "next_action": r.next_action,
            "evidence": r.evidence,
            "triage_due_at": deadline,
            "overdue": r.triage_due_at <= now,
        }
        for channel in channels:
            key = f"ops_sla:{r.id}:{deadline}:{channel}"
            due = outbox.policy.due(channel, now)
            rows.append(queue_row(r.shipment_id, Trigger.OPS_SLA, channel, key, facts, now, due, r.id))
    return await _queue(session, rows)


# The runtime's alert sink, for the other features (a claim's deadline): an Alert's topic
TOPICS = {"claim": Trigger.OPS_CLAIM}  # → the trigger (and template) it goes out as


async def queue_alerts(session: AsyncSession, outbox: Outbox, alerts: Sequence[Alert], now: datetime) -> int:
    """The runtime's alert sink: each alert once per key, through the ops channels its severity asks for."""
    rows: list[dict[str, Any]] = []
    for a in alerts:
        trigger = TOPICS.get(a.topic)
        if trigger is None:
            raise ValueError(f"alert topic {a.topic!r}: expected one of {', '.join(TOPICS)}")
        facts = a.facts | {"severity": a.severity.value}
        for channel in outbox.ops_route(trigger, a.severity):
            key = f"{trigger}:{a.key}:{channel}"
            rows.append(
                queue_row(a.shipment_id, trigger, channel, key, facts, now, outbox.policy.due(channel, now), None)
            )
    return await _queue(session, rows)


async def _queue(session: AsyncSession, rows: list[dict[str, Any]]) -> int:
    """Insert outbox rows, each once per dedupe key; how many were new."""
    if not rows:
        return 0
    insert = insert_skipping_duplicates(session, notifications_table, ["dedupe_key"])
    return len((await session.execute(insert.returning(notifications_table.c.id), rows)).all())
