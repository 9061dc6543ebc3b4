"""Scheduling: the embedded in-process loop (default, no Redis). The arq wiring joins it here later.

Job functions live in the feature packages' ``tasks.py``; this module only decides when they run.
"""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import structlog

from notifier import tasks as notifier_tasks
from tracker import tasks
from tracker.detector import tasks as detector_tasks
from tracker.ingest import tasks as ingest_tasks
from tracker.runtime import Runtime

log = structlog.get_logger(__name__)
Job = Callable[[dict[str, Any]], Awaitable[Any]]

# (job, every N seconds)
EMBEDDED_SCHEDULE: tuple[tuple[Job, float], ...] = (
    (tasks.poll_due, 60.0),
    (detector_tasks.detect_sweep, 900.0),
    (notifier_tasks.dispatch, 30.0),
    (notifier_tasks.sla_alerts, 900.0),
    (ingest_tasks.purge_expired, 3600.0),
)


async def run_embedded(runtime: Runtime, *, stop: asyncio.Event | None = None) -> None:
    """Run every scheduled job in this process until ``stop`` is set; a failing job is logged and retried."""
    stop = stop or asyncio.Event()
    ctx: dict[str, Any] = {"runtime": runtime}
    next_run = dict.fromkeys((job for job, _ in EMBEDDED_SCHEDULE), 0.0)
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        for job, every in EMBEDDED_SCHEDULE:
            if loop.time() >= next_run[job]:
                try:
                    await job(ctx)
                except Exception:
                    log.exception("job_failed", job=job.__name__)
                next_run[job] = loop.time() + every
        wake = min(next_run.values()) - loop.time()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=max(0.1, wake))
