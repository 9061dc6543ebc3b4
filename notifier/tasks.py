"""Job functions of the notifier, queue-agnostic (the embedded loop and arq call them with ``ctx``)."""

from typing import Any

from notifier.alerts import queue_sla_alerts
from notifier.dispatcher import DispatchReport
from notifier.service import dispatcher_of, outbox_of
from tracker.runtime import runtime_of


async def dispatch(ctx: dict[str, Any]) -> DispatchReport:
    """Deliver every notification due now."""
    return await dispatcher_of(runtime_of(ctx)).run_once()


async def sla_alerts(ctx: dict[str, Any]) -> int:
    """Queue ops alerts for incidents whose triage deadline is near."""
    runtime = runtime_of(ctx)
    async with runtime.sessions() as session, session.begin():
        return await queue_sla_alerts(session, outbox_of(runtime), runtime.clock.now())
