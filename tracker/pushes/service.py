"""The process's push applier: the door stores a push and kicks it; it applies what is pending in the background,
one run at a time (a kick during a run makes it go round once more). The scheduled job runs it too, for whatever
a kick missed (a push stored by a process that stopped before applying it) and for parked pushes whose shipment
has arrived."""

import asyncio
import contextlib
import random
from dataclasses import dataclass, field

import structlog

from tracker.detector import detector_of
from tracker.pushes.apply import PushReport
from tracker.pushes.parked import apply_parked
from tracker.pushes.pending import apply_pending
from tracker.runtime import Runtime

log = structlog.get_logger(__name__)
CLOSE_WAIT_S = 10.0


@dataclass
class Applier:
    runtime: Runtime
    rng: random.Random = field(default_factory=random.Random)
    _task: asyncio.Task[None] | None = field(default=None, init=False)
    _again: bool = field(default=False, init=False)
    _one_at_a_time: asyncio.Lock = field(default_factory=asyncio.Lock, init=False)

    async def apply(self) -> PushReport:
        """Apply the pending pushes, then the parked ones whose shipment has arrived (one run at a time)."""
        rt = self.runtime
        async with self._one_at_a_time:
            now, detector = rt.clock.now(), detector_of(rt)
            report = await apply_pending(rt.sessions, rt.vault, now=now, rng=self.rng, detector=detector)
            report.merge(await apply_parked(rt.sessions, rt.vault, now=now, rng=self.rng, detector=detector))
        return report

    def kick(self) -> None:
        """Apply soon, in the background (never in the caller's request)."""
        if self._task is not None and not self._task.done():
            self._again = True
            return
        self._task = asyncio.get_running_loop().create_task(self._drain())

    async def settled(self) -> None:
        """Wait until what was kicked so far is applied."""
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)

    async def _drain(self) -> None:
        while True:
            self._again = False
            try:
                await self.apply()
            except Exception:  # the scheduled job picks it up again
                log.exception("push_apply_failed")
            if not self._again:
                return

    async def aclose(self) -> None:
        if self._task is not None and not self._task.done():
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(self._task), CLOSE_WAIT_S)
            self._task.cancel()


def applier_of(runtime: Runtime) -> Applier:
    """The process's applier."""
    return runtime.service(Applier)
