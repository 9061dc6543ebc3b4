"""Parked pushes: what a push said of a shipment Zelo did not know yet (for the accounts it speaks for), applied
once the ERP sends the shipment, oldest push first; and the retention of pushes and parked codes."""

import random
from collections import defaultdict
from datetime import datetime

import structlog
from sqlalchemy import and_, delete, or_, select
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tracker.detector import Detector
from tracker.models import shipments_table
from tracker.pushes.apply import PushReport, account_peers, apply_results, describe, read_pushes
from tracker.pushes.models import CarrierPush, parked_table, pushes_table
from tracker.vault import Vault

log = structlog.get_logger(__name__)
_s, _p = shipments_table.c, parked_table.c


async def apply_parked(
    sessions: async_sessionmaker[AsyncSession],
    vault: Vault,
    *,
    now: datetime,
    rng: random.Random,
    detector: Detector | None,
    chunk: int = 500,
) -> PushReport:
    """Apply the parked codes whose shipment now exists (same carrier and account), oldest push first; a parked
    code whose push cannot be applied any more is dropped with the push keeping the error."""
    report = PushReport()
    while True:
        taken: list[int] = []
        try:
            done = await _apply_parked_batch(sessions, vault, taken, now, rng, detector, chunk)
        except (DataError, IntegrityError) as exc:
            if chunk > 1:
                chunk = 1  # one parked code at a time from here on: the bad one fails alone
                continue
            log.error("parked_push_unstorable", parked=taken, error=describe(exc))
            async with sessions() as session, session.begin():  # dropped: its push can never be stored
                await session.execute(delete(parked_table).where(_p.id.in_(taken)))
            report.failed += 1
            continue
        except Exception:
            log.exception("parked_push_failed")
            return report  # a fault of the moment: the next run goes on
        if done is None:
            return report
        report.merge(done)


async def _apply_parked_batch(
    sessions: async_sessionmaker[AsyncSession],
    vault: Vault,
    taken: list[int],
    now: datetime,
    rng: random.Random,
    detector: Detector | None,
    chunk: int,
) -> PushReport | None:
    report = PushReport()
    async with sessions() as session, session.begin():
        parking = await session.execute(select(_p.carrier, _p.carrier_account_id).distinct())
        waiting = {(carrier, account) for carrier, account in parking.all()}
        if not waiting:
            return None
        accounts = await account_peers(session, vault, waiting)
        of_peers = or_(  # the shipment is of the parking account, or of one with the same push credentials
            *(
                and_(_p.carrier == carrier, _p.carrier_account_id == account, _s.carrier_account_id.in_(ids))
                for (carrier, account), ids in accounts.items()
            )
        )
        joined = and_(_s.carrier == _p.carrier, _s.tracking_code == _p.tracking_code, of_peers)
        query = select(_p.id, _p.push_id, _p.tracking_code).join(shipments_table, joined).order_by(_p.push_id, _p.id)
        found = (await session.execute(query.limit(chunk).with_for_update(skip_locked=True, of=parked_table))).all()
        if not found:
            return None
        taken += [row.id for row in found]
        wanted: dict[int, set[str]] = defaultdict(set)
        for row in found:
            wanted[row.push_id].add(row.tracking_code)
        pushes = list(await session.scalars(select(CarrierPush).where(CarrierPush.id.in_(list(wanted)))))
        items = sorted(read_pushes(vault, pushes, report, wanted), key=lambda p: p.push_id)
        await apply_results(session, items, now=now, rng=rng, detector=detector, report=report.poll, vault=vault)
        await session.execute(delete(parked_table).where(_p.id.in_([row.id for row in found])))
    report.matched = len(found)
    return report


async def forget(session: AsyncSession, *, parked_before: datetime, applied_before: datetime) -> dict[str, int]:
    """Drop parked codes older than ``parked_before``, applied pushes older than ``applied_before`` that no parked
    code still needs, and pushes kept with an error (never applied) older than ``parked_before``."""
    parked = await session.execute(delete(parked_table).where(_p.parked_at < parked_before))
    c = pushes_table.c
    old_applied = and_(c.received_at < applied_before, c.applied_at.is_not(None), c.id.not_in(select(_p.push_id)))
    old_failed = and_(c.received_at < parked_before, c.error.is_not(None))
    pushes = await session.execute(delete(pushes_table).where(or_(old_applied, old_failed)))
    return {"parked": parked.rowcount, "pushes": pushes.rowcount}  # type: ignore[attr-defined]
