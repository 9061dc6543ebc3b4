"""Apply the pushes the door stored, oldest first, a chunk per transaction.

Each transaction claims the oldest pending pushes no other transaction holds (``FOR UPDATE SKIP LOCKED``), so the
appliers of several processes share a backlog instead of waiting on, or spinning behind, one another. A chunk is at
most :data:`CHUNK` pushes and :data:`SHIPMENTS` shipments (always at least one push): the applier runs in the API's
event loop, and the longest stretch it holds the loop without awaiting grows with a chunk's shipments (each door
request arriving meanwhile waits that long). Pushes claimed beyond the cap stay locked until that transaction ends,
then the next one takes them. A chunk that cannot be stored is retried push by push, and a push that still fails
keeps its error (it is not retried; ops see it) instead of blocking the ones after it.
"""

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

import structlog
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tracker.detector import Detector
from tracker.polling import PollReport
from tracker.pushes.apply import Pushed, PushReport, apply_results, read_push
from tracker.pushes.models import CarrierPush, parked_table, pushes_table
from tracker.vault import Vault

log = structlog.get_logger(__name__)
CHUNK = 200  # pushes claimed per transaction
SHIPMENTS = 250  # shipments applied per transaction (bench/NOTES.md)
_c = pushes_table.c


async def apply_pending(
    sessions: async_sessionmaker[AsyncSession],
    vault: Vault,
    *,
    now: datetime,
    rng: random.Random,
    detector: Detector | None,
    chunk: int = CHUNK,
    shipments: int = SHIPMENTS,
) -> PushReport:
    """Apply every pending push this process can claim; returns when none is left that another does not hold."""
    applying = _Applying(sessions, vault, now, rng, detector)
    while True:
        claimed: list[int] = []
        try:
            await applying.chunk(None, chunk, shipments, claimed)
        except Exception:
            if not claimed:  # the claim itself failed (the database): the next kick or the scheduled job retries
                raise
            log.exception("push_chunk_failed_isolating", pushes=len(claimed))
            await applying.isolate(claimed)
            continue
        if not claimed:
            return applying.report


@dataclass
class _Applying:
    sessions: async_sessionmaker[AsyncSession]
    vault: Vault
    now: datetime
    rng: random.Random
    detector: Detector | None
    report: PushReport = field(default_factory=PushReport)

    async def chunk(self, ids: list[int] | None, chunk: int, shipments: int, claimed: list[int]) -> None:
        """Apply, in one transaction, the oldest pending pushes (of ``ids``, or any) no other transaction holds,
        within the caps; their ids go into ``claimed`` as soon as they are locked."""
        async with self.sessions() as session, session.begin():
            query = select(_c.id, _c.results).where(_c.applied_at.is_(None), _c.error.is_(None))
            if ids is not None:
                query = query.where(_c.id.in_(ids))
            locked = (await session.execute(query.order_by(_c.id).limit(chunk).with_for_update(skip_locked=True))).all()
            taken: list[int] = []
            total = 0
            for push_id, results in locked:
                if taken and total + results > shipments:
                    break
                taken.append(push_id)
                total += results
            claimed += taken
            if not taken:
                return
            done = await self._apply(session, taken)
        self.report.pushes += done.pushes  # counted once the transaction holds
        self.report.failed += done.failed
        self.report.parked += done.parked
        self.report.poll.merge(done.poll)

    async def _apply(self, session: AsyncSession, ids: list[int]) -> PushReport:
        pushes = list(
            await session.scalars(select(CarrierPush).where(CarrierPush.id.in_(ids)).order_by(CarrierPush.id))
        )
        items: list[Pushed] = []
        unreadable = 0
        for push in pushes:
            try:
                results = read_push(self.vault, push.carrier, push.body)
            except Exception as exc:  # kept with its error for ops; the others go on
                push.error = f"{type(exc).__name__}: {str(exc)[:300]}"
                unreadable += 1
                log.error("push_unreadable", push_id=push.id, carrier=push.carrier, error=push.error)
                continue
            items += [Pushed(push.id, push.carrier, push.carrier_account_id, r) for r in results]
        poll = PollReport()
        unknown = await apply_results(session, items, now=self.now, rng=self.rng, detector=self.detector, report=poll)
        if unknown:
            rows = [
                {
                    "push_id": p.push_id,
                    "carrier": p.carrier,
                    "carrier_account_id": p.account_id,
                    "tracking_code": p.result.tracking_code,
                    "parked_at": self.now,
                }
                for p in unknown
            ]
            await session.execute(parked_table.insert(), rows)
        parked = Counter(p.push_id for p in unknown)
        applied = [push for push in pushes if push.error is None]
        for push in applied:
            push.applied_at, push.parked = self.now, parked[push.id]
        return PushReport(pushes=len(applied), parked=len(unknown), failed=unreadable, poll=poll)

    async def isolate(self, ids: list[int]) -> None:
        for push_id in ids:
            try:
                await self.chunk([push_id], 1, 1, [])
            except Exception as exc:
                error = f"{type(exc).__name__}: {str(exc)[:300]}"
                log.error("push_unstorable", push_id=push_id, error=error)
                async with self.sessions() as session, session.begin():
                    await session.execute(update(pushes_table).where(_c.id == push_id).values(error=error))
                self.report.failed += 1
