"""Push jobs (queue-agnostic, like every ``tasks.py``): apply what the door stored and no kick applied, apply
parked codes whose shipment has arrived, and forget old pushes."""

from datetime import timedelta
from typing import Any

import structlog

from tracker.pushes.apply import PushReport
from tracker.pushes.parked import forget
from tracker.pushes.service import applier_of
from tracker.runtime import runtime_of

log = structlog.get_logger(__name__)
PARKED_KEPT = timedelta(days=30)  # a push for a shipment the ERP never sends is forgotten after this
PUSHES_KEPT = timedelta(days=7)  # an applied push's body, for replays and for ops


async def apply_pushes(ctx: dict[str, Any]) -> PushReport:
    """Job: apply pending pushes, then parked ones whose shipment now exists."""
    report = await applier_of(runtime_of(ctx)).apply()
    if report.pushes or report.matched or report.failed:
        log.info(
            "pushes_applied",
            pushes=report.pushes,
            parked=report.parked,
            matched=report.matched,
            failed=report.failed,
            events=report.poll.events,
        )
    return report


async def purge_pushes(ctx: dict[str, Any]) -> dict[str, int]:
    """Job: forget parked codes and applied pushes past their retention."""
    runtime = runtime_of(ctx)
    now = runtime.clock.now()
    async with runtime.sessions() as session, session.begin():
        return await forget(session, parked_before=now - PARKED_KEPT, applied_before=now - PUSHES_KEPT)
