"""Apply stored pushes: merge what each says of a shipment with the events already stored, and write it through
the poll pipeline's :func:`store_outcomes` (events, status, detection, notifications: one transaction, which also
marks the pushes applied). A push about a shipment Zelo does not know (for that carrier account) is parked, and
applied to it when the ERP sends it (:func:`apply_parked`).

Each batch is taken with ``FOR UPDATE SKIP LOCKED`` (on PostgreSQL; SQLite has one writer), so several processes
share the work and none waits on another's. A batch that cannot be stored is retried push by push: a push the
adapter cannot read, or whose data the database refuses, keeps its error (ops see it; it is not retried); any other
fault (a lost connection, a deadlock) leaves it pending for the next run.
"""

import random
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pydantic_core
import structlog
from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from carriers.base import CarrierError, Reason, Status, TrackingEvent, TrackingResult
from carriers.base.registry import get as get_carrier
from tracker.detector import Detector
from tracker.models import CarrierAccount, events_table, shipments_table
from tracker.polling import CLAIMED_COLUMNS, PollReport, store_outcomes
from tracker.pushes.models import CarrierPush, parked_table, pushes_table
from tracker.vault import Vault

log = structlog.get_logger(__name__)
CHUNK = 200  # pushes taken per transaction ...
# ... and at most this many shipments among them (at least one push, which alone may name 1,000): the applier shares
# the API's event loop, and its longest stretch without awaiting grows with a batch's shipments (bench/NOTES.md)
SHIPMENTS = 250
MAX_CODE = 64  # a tracking code longer than the column holds names no shipment
_s, _e, _p = shipments_table.c, events_table.c, parked_table.c


class Unreadable(Exception):
    """The stored push cannot be read (any more): kept with this error, never retried."""


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
    failed: int = 0  # pushes that could not be read or stored (kept, with their error)
    poll: PollReport = field(default_factory=PollReport)

    def merge(self, other: "PushReport") -> None:
        self.pushes += other.pushes
        self.parked += other.parked
        self.matched += other.matched
        self.failed += other.failed
        self.poll.merge(other.poll)


def describe(exc: BaseException) -> str:
    """An error as stored and logged: a carrier error's own sentence (it names fields, never the customer), else
    only the exception's type (its text may quote the body)."""
    if isinstance(exc, CarrierError):
        return f"{exc.code}: {str(exc)[:300]}"
    return type(exc).__name__


def usable(results: Iterable[TrackingResult]) -> tuple[list[TrackingResult], list[str]]:
    """The results that can name a shipment, and a sentence for each one that cannot."""
    kept, refused = [], []
    for r in results:
        code = r.tracking_code.strip()
        if code and len(code) <= MAX_CODE:
            kept.append(r)
        else:
            refused.append(f"tracking code of {len(code)} characters; expected 1 to {MAX_CODE}")
    return kept, refused


def read_push(vault: Vault, carrier: str, sealed_body: str) -> list[TrackingResult]:
    """The usable results a stored push carries (the door read it once; an adapter change could make it
    unreadable: :class:`Unreadable`)."""
    try:
        results = get_carrier(carrier).parse_webhook(pydantic_core.from_json(vault.open_bytes(sealed_body)))
    except Exception as exc:
        raise Unreadable(describe(exc)) from exc
    return usable(results)[0]


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
        items = _read(vault, pushes, report)
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


def _read(
    vault: Vault, pushes: Iterable[CarrierPush], report: PushReport, only: dict[int, set[str]] | None = None
) -> list[Pushed]:
    """What ``pushes`` say (of the codes in ``only``, when given); an unreadable push keeps its error."""
    items: list[Pushed] = []
    for push in pushes:
        try:
            results = read_push(vault, push.carrier, push.body)
        except Unreadable as exc:
            push.error = str(exc)
            report.failed += 1
            log.error("push_unreadable", push_id=push.id, carrier=push.carrier, error=push.error)
            continue
        wanted = None if only is None else only[push.id]
        items += [
            Pushed(push.id, push.carrier, push.carrier_account_id, r)
            for r in results
            if wanted is None or r.tracking_code in wanted
        ]
    return items


def _parked(item: Pushed, now: datetime) -> dict[str, Any]:
    return {
        "push_id": item.push_id,
        "carrier": item.carrier,
        "carrier_account_id": item.account_id,
        "tracking_code": item.result.tracking_code,
        "parked_at": now,
    }


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
        peers = await _peers(session, vault, waiting)
        of_peers = or_(  # the shipment is of the parking account, or of one with the same push credentials
            *(
                and_(_p.carrier == carrier, _p.carrier_account_id == account, _s.carrier_account_id.in_(ids))
                for (carrier, account), ids in peers.items()
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
        items = sorted(_read(vault, pushes, report, wanted), key=lambda p: p.push_id)
        await apply_results(session, items, now=now, rng=rng, detector=detector, report=report.poll, vault=vault)
        await session.execute(delete(parked_table).where(_p.id.in_([row.id for row in found])))
    report.matched = len(found)
    return report


async def apply_results(
    session: AsyncSession,
    items: Sequence[Pushed],
    *,
    now: datetime,
    rng: random.Random,
    detector: Detector | None,
    report: PollReport,
    vault: Vault,
) -> list[Pushed]:
    """Store what the pushes say of the shipments they name (locked in id order, in the caller's transaction): a
    shipment of the account that signed the push, or of an account holding the same push credentials (one Melhor
    Envio app secret serves every account of the app). The ones no such shipment answers to are returned, to be
    parked."""
    if not items:
        return []
    peers = await _peers(session, vault, {(i.carrier, i.account_id) for i in items})
    codes: dict[str, set[str]] = defaultdict(set)
    accounts: dict[str, set[int]] = defaultdict(set)
    for item in items:
        codes[item.carrier].add(item.result.tracking_code)
        accounts[item.carrier] |= peers[(item.carrier, item.account_id)]
    named = or_(
        *(
            and_(_s.carrier == c, _s.tracking_code.in_(list(codes[c])), _s.carrier_account_id.in_(list(accounts[c])))
            for c in codes
        )
    )
    query = select(*CLAIMED_COLUMNS).where(named).order_by(_s.id).with_for_update()
    rows: dict[tuple[str, str], Any] = {  # the shipments' rows (CLAIMED_COLUMNS); a code is one shipment a carrier
        (r.carrier, r.tracking_code): r for r in (await session.execute(query)).all()
    }
    said: dict[int, list[TrackingResult]] = defaultdict(list)
    unknown: list[Pushed] = []
    for item in items:
        row = rows.get((item.carrier, item.result.tracking_code))
        if row is None or row.carrier_account_id not in peers[(item.carrier, item.account_id)]:
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


async def _peers(session: AsyncSession, vault: Vault, pairs: set[tuple[str, int]]) -> dict[tuple[str, int], set[int]]:
    """For each (carrier, account): the accounts of that carrier holding the same push credentials, itself
    included."""
    query = select(CarrierAccount.id, CarrierAccount.carrier, CarrierAccount.credentials)
    found = (await session.execute(query.where(CarrierAccount.carrier.in_({c for c, _ in pairs})))).all()
    keys: dict[tuple[str, int], tuple[str, tuple[str, ...]]] = {}
    for account_id, carrier, sealed in found:
        try:
            credentials = vault.open(sealed)
        except ValueError:  # sealed with another key: it signs nothing
            continue
        fields = get_carrier(carrier).push_fields
        if fields and all(credentials.get(f) for f in fields):
            keys[(carrier, account_id)] = (carrier, tuple(credentials[f] for f in fields))
    groups: dict[tuple[str, tuple[str, ...]], set[int]] = defaultdict(set)
    for (_, account_id), key in keys.items():
        groups[key].add(account_id)
    return {pair: groups[keys[pair]] if pair in keys else {pair[1]} for pair in pairs}


def merge(row: Any, stored: Sequence[TrackingEvent], pushes: Sequence[TrackingResult]) -> TrackingResult:
    """The shipment's whole history as the carrier has now told it: the stored events, then each push's (a pushed
    event that was stored already replaces it, e.g. when it is now voided), oldest first. A push's forecast is
    taken only when the push is news (it reaches the newest event known): an old push applied late (a carrier's
    retry, a parked push matched now) never replaces a newer forecast."""
    events = {(e.occurred_at, e.code): e for e in stored}
    newest = max((e.occurred_at for e in stored), default=None)
    expected, problems = row.carrier_expected_delivery, list[str]()
    for pushed in pushes:
        events.update({(e.occurred_at, e.code): e for e in pushed.events})
        latest = max((e.occurred_at for e in pushed.events), default=None)
        if pushed.expected_delivery and (newest is None or latest is None or latest >= newest):
            expected = pushed.expected_delivery
        newest = max(filter(None, (newest, latest)), default=None)
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
    """Drop parked codes older than ``parked_before``, applied pushes older than ``applied_before`` that no parked
    code still needs, and pushes kept with an error (never applied) older than ``parked_before``."""
    parked = await session.execute(delete(parked_table).where(_p.parked_at < parked_before))
    c = pushes_table.c
    old_applied = and_(c.received_at < applied_before, c.applied_at.is_not(None), c.id.not_in(select(_p.push_id)))
    old_failed = and_(c.received_at < parked_before, c.error.is_not(None))
    pushes = await session.execute(delete(pushes_table).where(or_(old_applied, old_failed)))
    return {"parked": parked.rowcount, "pushes": pushes.rowcount}  # type: ignore[attr-defined]


__all__ = [
    "CHUNK",
    "PushReport",
    "Pushed",
    "apply_parked",
    "apply_pending",
    "apply_results",
    "forget",
    "merge",
    "usable",
]
