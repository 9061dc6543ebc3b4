"""Job functions of the detector, queue-agnostic (the embedded loop and arq call them with ``ctx``)."""

from typing import Any

from tracker.detector.service import Detected
from tracker.detector.sweep import sweep
from tracker.runtime import Runtime


async def detect_sweep(ctx: dict[str, Any]) -> Detected:
    """The time-based sweep: delays, silences, pickup deadlines."""
    runtime: Runtime = ctx["runtime"]
    return await sweep(runtime.sessions, runtime.detector, runtime.clock.now())
