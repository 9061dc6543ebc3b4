"""Job functions of the detector, queue-agnostic (the embedded loop and arq call them with ``ctx``)."""

from typing import Any

from tracker.detector import detector_of
from tracker.detector.service import Detected
from tracker.detector.sweep import sweep
from tracker.runtime import runtime_of


async def detect_sweep(ctx: dict[str, Any]) -> Detected:
    """The time-based sweep: delays, silences, pickup deadlines."""
    runtime = runtime_of(ctx)
    return await sweep(runtime.sessions, detector_of(runtime), runtime.clock.now())
