"""Scheduling: the embedded in-process loop (default, no Redis). The arq wiring joins it here later.

Job functions live in the feature packages' ``tasks.py``, and the composition root (``zelo.features``)
says how often each runs; this module only runs them.
"""

import asyncio
import contextlib
from typing import Any

import structlog

from tracker.runtime import Job, Runtime

log = structlog.get_logger(__name__)
Schedule = tuple[tuple[Job, float], ...]  # (job, every N seconds)


async def run_embedded(runtime: Runtime, schedule: Schedule, *, stop: asyncio.Event | None = None) -> None:
    """Run every scheduled job in this process until ``stop`` is set; a failing job is logged and retried."""
    stop = stop or asyncio.Event()
    ctx: dict[str, Any] = {"runtime": runtime}
    next_run = dict.fromkeys((job for job, _ in schedule), 0.0)
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        for job, every in schedule:
            if loop.time() >= next_run[job]:
                try:
                    await job(ctx)
                except Exception:
                    log.exception("job_failed", job=job.__name__)
                next_run[job] = loop.time() + every
        wake = min(next_run.values()) - loop.time()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=max(0.1, wake))
