"""Job functions, queue-agnostic: the embedded loop and arq's workers call them with a ``ctx`` mapping."""

from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from tracker.db import count_upto
from tracker.models import CarrierAccount, shipments_table
from tracker.polling import poller_of
from tracker.polling.poller import unleased
from tracker.polling.report import PollReport
from tracker.runtime import runtime_of

log = structlog.get_logger(__name__)
OVERDUE_AFTER = timedelta(minutes=5)  # a due poll this late was lost (the tick queues runs every minute)


async def poll_due(ctx: dict[str, Any]) -> PollReport:
    """Poll every shipment that is due now."""
    report = await poller_of(runtime_of(ctx)).run_once()
    if report.polled:
        log.info(
            "poll_cycle",
            polled=report.polled,
            changed=report.changed,
            failed=report.failed,
            events=report.events,
            unknown_codes=sum(report.unknown_codes.values()),
        )
    return report


async def overdue_polls(session: AsyncSession, now: datetime) -> int:
    """Shipments due minutes ago whose account's circuit is closed: no poll run took them (up to 10,000)."""
    ships, accounts = shipments_table.c, CarrierAccount.__table__.c
    late = (
        select(ships.id)
        .join(CarrierAccount.__table__, accounts.id == ships.carrier_account_id)
        .where(ships.next_poll_at < now - OVERDUE_AFTER)
        .where(unleased(now))
        .where(or_(accounts.circuit_open_until.is_(None), accounts.circuit_open_until <= now))
    )
    return await count_upto(session, late, 10_000)
