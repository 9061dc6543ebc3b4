"""Job functions, queue-agnostic: the embedded loop and (later) arq call them with a ``ctx`` mapping."""

from typing import Any

import structlog

from tracker.polling import poller_of
from tracker.polling.report import PollReport
from tracker.runtime import runtime_of

log = structlog.get_logger(__name__)


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
