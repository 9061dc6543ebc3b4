"""Job functions of the notifier, queue-agnostic (the embedded loop and arq call them with ``ctx``)."""

from typing import Any

from notifier.alerts import queue_sla_alerts
from notifier.dispatcher import DispatchReport
from tracker.runtime import Runtime


async def dispatch(ctx: dict[str, Any]) -> DispatchReport:
    """Deliver every notification due now."""
    runtime: Runtime = ctx["runtime"]
    return await runtime.dispatcher().run_once()


async def sla_alerts(ctx: dict[str, Any]) -> int:
    """Queue ops alerts for incidents whose triage deadline is near."""
    runtime: Runtime = ctx["runtime"]
    async with runtime.sessions() as session, session.begin():
        return await queue_sla_alerts(session, runtime.outbox, runtime.clock.now())
