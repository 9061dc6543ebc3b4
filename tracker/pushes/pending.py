"""Apply the pushes the door stored, oldest first, a batch per transaction, which also marks them applied and parks
what they say of shipments Zelo does not know yet (``tracker.pushes.parked`` applies those later).

Each batch is taken with ``FOR UPDATE SKIP LOCKED`` (on PostgreSQL; SQLite has one writer), so several processes
share the work and none waits on another's. A batch that cannot be stored is retried push by push: a push the
adapter cannot read, or whose data the database refuses, keeps its error (ops see it; it is not retried); any other
fault (a lost connection, a deadlock) leaves it pending for the next run.
"""

import random
from collections import Counter
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import select, update
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tracker.detector import Detector
from tracker.pushes.apply import Pushed, PushReport, apply_results, describe, read_pushes
from tracker.pushes.models import CarrierPush, parked_table, pushes_table
from tracker.vault import Vault

log = structlog.get_logger(__name__)
CHUNK = 200  # pushes taken per transaction ...
# ... and at most this many shipments among them (at least one push, which alone may name 1,000): the applier shares
# the API's event loop, and its longest stretch without awaiting grows with a batch's shipments (bench/NOTES.md)
SHIPMENTS = 250


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
    """Apply every push not applied yet that no other process holds, a batch per transaction (``chunk`` pushes,
    ``shipments`` shipments at most); returns when none is left that another process does not hold."""
    report = PushReport()
    while True:
        taken: list[int] = []
        try:
            done = await _apply_batch(sessions, vault, None, taken, now, rng, detector, chunk, shipments)
        except Exception:
            log.exception("push_batch_failed_isolating", pushes=len(taken))
            if not taken or not await _isolate(sessions, vault, taken, now, rng, detector, report):
                return report  # a fault of the moment: the next run goes on
            continue
        if done is None:
            return report
        report.merge(done)


async def _isolate(
    sessions: async_sessionmaker[AsyncSession],
    vault: Vault,
    ids: list[int],
    now: datetime,
    rng: random.Random,
    detector: Detector | None,
    report: PushReport,
) -> bool:
    """Apply ``ids`` one by one; a push whose data the database refuses keeps the error. False at the first fault
    of the moment (it and the rest stay pending)."""
    for push_id in ids:
        try:
            done = await _apply_batch(sessions, vault, [push_id], [], now, rng, detector, 1, 1)
        except (DataError, IntegrityError) as exc:
            await _keep_error(sessions, push_id, describe(exc))
            report.failed += 1
            continue
        except Exception:
            log.exception("push_apply_failed", push_id=push_id)
            return False
        if done is not None:
            report.merge(done)
    return True


async def _keep_error(sessions: async_sessionmaker[AsyncSession], push_id: int, error: str) -> None:
    log.error("push_unstorable", push_id=push_id, error=error)
    async with sessions() as session, session.begin():
        await session.execute(update(pushes_table).where(pushes_table.c.id == push_id).values(error=error))


async def _apply_batch(
    sessions: async_sessionmaker[AsyncSession],
    vault: Vault,
    ids: list[int] | None,
    taken: list[int],
    now: datetime,
    rng: random.Random,
    detector: Detector | None,
    chunk: int,
    shipments: int,
) -> PushReport | None:
    """Take pending pushes (``ids`` among them, else the oldest), apply them and park what they say of shipments
    not known yet; what was done (None: nothing was pending)."""
    report = PushReport()
    async with sessions() as session, session.begin():
        query = select(CarrierPush).where(CarrierPush.applied_at.is_(None), CarrierPush.error.is_(None))
        if ids is not None:
            query = query.where(CarrierPush.id.in_(ids))
        found = list(
            await session.scalars(query.order_by(CarrierPush.id).limit(chunk).with_for_update(skip_locked=True))
        )
        if not found:
            return None
        pushes: list[CarrierPush] = []
        codes = 0
        for push in found:  # the rest stay pending for the next batch
            if pushes and codes + push.results > shipments:
                break
            pushes.append(push)
            codes += push.results
        taken += [p.id for p in pushes]
        items = read_pushes(vault, pushes, report)
        unknown = await apply_results(
            session, items, now=now, rng=rng, detector=detector, report=report.poll, vault=vault
        )
        if unknown:
            await session.execute(parked_table.insert(), [_parked(p, now) for p in unknown])
        parked = Counter(p.push_id for p in unknown)
        applied = [push for push in pushes if push.error is None]
        for push in applied:
            push.applied_at, push.parked = now, parked[push.id]
    report.pushes, report.parked = len(applied), len(unknown)  # counted once the transaction holds
    return report


def _parked(item: Pushed, now: datetime) -> dict[str, Any]:
    return {
        "push_id": item.push_id,
        "carrier": item.carrier,
        "carrier_account_id": item.account_id,
        "tracking_code": item.result.tracking_code,
        "parked_at": now,
    }
