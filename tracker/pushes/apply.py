"""Apply what pushes say: merge what each says of a shipment with the events already stored, and write it through
the poll pipeline's :func:`store_outcomes` (events, status, detection, notifications: in the caller's transaction,
which also marks the pushes applied: ``tracker.pushes.pending``). A push about a shipment Zelo does not know (for
that carrier account) is parked, and applied to it when the ERP sends it (:func:`apply_parked`)."""

import json
import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import Row, and_, delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from carriers.base import Reason, Status, TrackingEvent, TrackingResult
from carriers.base.registry import get as get_carrier
from tracker.detector import Detector
from tracker.models import events_table, shipments_table
from tracker.polling import CLAIMED_COLUMNS, PollReport, store_outcomes
from tracker.pushes.models import CarrierPush, parked_table, pushes_table
from tracker.vault import Vault

log = structlog.get_logger(__name__)
_s, _e, _p = shipments_table.c, events_table.c, parked_table.c


@dataclass(frozen=True, slots=True)
class Pushed:
    """What one push says of one tracking code."""

    push_id: int
    carrier: str
    account_id: int
    result: TrackingResult


@dataclass
class PushReport:
    pushes: int = 0  # pushes applied
    parked: int = 0  # tracking codes parked (shipment not known yet)
    matched: int = 0  # parked codes applied now that their shipment exists
    failed: int = 0  # pushes that could not be read (kept, with their error)
    poll: PollReport = field(default_factory=PollReport)


def read_push(vault: Vault, carrier: str, sealed_body: str) -> list[TrackingResult]:
    """The results a stored push carries (the door checked it once; an adapter change could make it unreadable)."""
    return get_carrier(carrier).parse_webhook(json.loads(vault.open_bytes(sealed_body)))


async def apply_parked(
    sessions: async_sessionmaker[AsyncSession],
    vault: Vault,
    *,
    now: datetime,
    rng: random.Random,
    detector: Detector | None,
    chunk: int = 500,
) -> PushReport:
    """Apply the parked codes whose shipment now exists (same carrier and account), oldest push first."""
    report = PushReport()
    while True:
        async with sessions() as session, session.begin():
            joined = and_(
                _s.carrier == _p.carrier,
                _s.tracking_code == _p.tracking_code,
                _s.carrier_account_id == _p.carrier_account_id,
            )
            query = select(_p.id, _p.push_id, _p.tracking_code).join(shipments_table, joined)
            found = (await session.execute(query.order_by(_p.push_id).limit(chunk))).all()
            if not found:
                return report
            wanted: dict[int, set[str]] = defaultdict(set)
            for row in found:
                wanted[row.push_id].add(row.tracking_code)
            items: list[Pushed] = []
            for push in await session.scalars(select(CarrierPush).where(CarrierPush.id.in_(list(wanted)))):
                try:
                    results = read_push(vault, push.carrier, push.body)
                except Exception as exc:  # its parked codes go (below) and the push keeps the error
                    push.error = f"{type(exc).__name__}: {str(exc)[:300]}"
                    log.error("push_unreadable", push_id=push.id, carrier=push.carrier, error=push.error)
                    continue
                items += [
                    Pushed(push.id, push.carrier, push.carrier_account_id, r)
                    for r in results
                    if r.tracking_code in wanted[push.id]
                ]
            items.sort(key=lambda p: p.push_id)
            poll = PollReport()
            await apply_results(session, items, now=now, rng=rng, detector=detector, report=poll)
            await session.execute(delete(parked_table).where(_p.id.in_([row.id for row in found])))
        report.matched += len(found)
        report.poll.merge(poll)


async def apply_results(
    session: AsyncSession,
    items: Sequence[Pushed],
    *,
    now: datetime,
    rng: random.Random,
    detector: Detector | None,
    report: PollReport,
) -> list[Pushed]:
    """Store what the pushes say of the shipments they name (locked, in the caller's transaction); the ones no
    shipment of that carrier account answers to are returned, to be parked."""
    wanted: dict[tuple[str, int], set[str]] = defaultdict(set)
    for item in items:
        wanted[(item.carrier, item.account_id)].add(item.result.tracking_code)
    rows: dict[tuple[str, int, str], Any] = {}  # the shipments' rows (CLAIMED_COLUMNS)
    for (carrier, account_id), codes in sorted(wanted.items()):  # one lock order for every applier
        query = select(*CLAIMED_COLUMNS).where(
            _s.carrier == carrier, _s.carrier_account_id == account_id, _s.tracking_code.in_(list(codes))
        )
        for found in (await session.execute(query.order_by(_s.id).with_for_update())).all():
            rows[(carrier, account_id, found.tracking_code)] = found
    said: dict[int, list[TrackingResult]] = defaultdict(list)
    unknown: list[Pushed] = []
    for item in items:
        row = rows.get((item.carrier, item.account_id, item.result.tracking_code))
        if row is None:
            unknown.append(item)
        else:
            said[row.id].append(item.result)
    if said:
        claimed = [row for row in rows.values() if row.id in said]
        stored = await _stored_events(session, list(said))
        outcomes = {row.id: merge(row, stored.get(row.id, []), said[row.id]) for row in claimed}
        report.merge(
            await store_outcomes(session, claimed, dict(outcomes), now=now, rng=rng, detector=detector, pushed=True)
        )
    return unknown


def merge(row: Row[Any], stored: Iterable[TrackingEvent], pushes: Sequence[TrackingResult]) -> TrackingResult:
    """The shipment's whole history as the carrier has now told it: the stored events, then each push's (a pushed
    event that was stored already replaces it, e.g. when it is now voided), oldest first. A push that says
    nothing of the forecast keeps the stored one."""
    events = {(e.occurred_at, e.code): e for e in stored}
    expected, problems = row.carrier_expected_delivery, list[str]()
    for pushed in pushes:
        events.update({(e.occurred_at, e.code): e for e in pushed.events})
        expected = pushed.expected_delivery or expected
        problems += pushed.problems
    ordered = sorted(events.values(), key=lambda e: e.occurred_at)
    return TrackingResult(row.tracking_code, tuple(ordered), expected, problems=tuple(dict.fromkeys(problems)))


async def _stored_events(session: AsyncSession, shipment_ids: list[int]) -> dict[int, list[TrackingEvent]]:
    query = select(events_table).where(_e.shipment_id.in_(shipment_ids)).order_by(_e.shipment_id, _e.occurred_at, _e.id)
    found: dict[int, list[TrackingEvent]] = defaultdict(list)
    for r in await session.execute(query):
        found[r.shipment_id].append(
            TrackingEvent(
                occurred_at=r.occurred_at,
                code=r.code,
                status=Status(r.status),
                reason=Reason(r.reason) if r.reason else None,
                description=r.description,
                location=r.location,
                detail=r.detail,
                pickup_deadline=r.pickup_deadline,
                known_code=r.known_code,
                voided=r.voided,
                raw=r.raw or {},
            )
        )
    return found


async def forget(session: AsyncSession, *, parked_before: datetime, applied_before: datetime) -> dict[str, int]:
    """Drop parked codes older than ``parked_before`` and applied pushes older than ``applied_before`` that no
    parked code still needs."""
    parked = await session.execute(delete(parked_table).where(_p.parked_at < parked_before))
    still_needed = select(_p.push_id)
    pushes = await session.execute(
        delete(pushes_table).where(
            pushes_table.c.received_at < applied_before,
            pushes_table.c.applied_at.is_not(None),
            pushes_table.c.id.not_in(still_needed),
        )
    )
    return {"parked": parked.rowcount, "pushes": pushes.rowcount}  # type: ignore[attr-defined]


__all__ = ["PushReport", "Pushed", "apply_parked", "apply_results", "forget", "merge", "read_push"]
