"""Write poll outcomes in one transaction: new events (never twice), status and poll state.

Outcomes come from a poll, or (``pushed``) from a carrier's push merged with the stored events
(``tracker.pushes``): a pushed shipment is then polled no sooner than its carrier's ``poll_when_pushed`` after its
last push. Only shipments whose carrier data changed (by digest) are written in full; for those, the events already
stored are read back so that only new events are inserted and only changed ``voided`` flags updated.
"""

import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import structlog
from sqlalchemy import Row, and_, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from carriers.base import Status, TrackingEvent, TrackingResult
from carriers.base.registry import get as get_carrier
from tracker.bulk import insert_rows, update_rows
from tracker.detector import Detector, Evaluation
from tracker.models import events_table, shipments_table
from tracker.polling import cadence
from tracker.polling.report import PollReport
from tracker.signals import Moved

log = structlog.get_logger(__name__)
EventKey = tuple[int, datetime, str]


@dataclass(frozen=True, slots=True)
class Failure:
    """The poll of this shipment failed (carrier fault, no answer); it will be retried with backoff (until it is
    past cadence's ``retire_after``, as a shipment whose polls succeed)."""

    code: str
    message: str


@dataclass(frozen=True, slots=True)
class Rejected:
    """The tracking code can never be tracked (fails its carrier's format): stop polling it."""

    message: str


@dataclass(frozen=True, slots=True)
class Deferred:
    """Not polled this time, through no fault of the shipment's (its account's circuit opened, or the carrier
    asked for a pause): due again at ``until``, its poll state otherwise untouched."""

    until: datetime


Outcome = TrackingResult | Failure | Rejected | Deferred


def digest(result: TrackingResult) -> str:
    h = hashlib.blake2b(digest_size=16)
    h.update(f"{result.expected_delivery}|{result.error and result.error.code}".encode())
    for e in result.events:
        # an event of a code the table lacks is marked: once the table knows it, the digest differs, and the
        # shipment is written in full (its status moved, its stored events re-statused) by the normal path
        h.update(f"|{e.occurred_at.isoformat()}/{e.code}/{int(e.voided)}{'' if e.known_code else '/?'}".encode())
    return h.hexdigest()


@dataclass
class _Writes:
    """The rows one chunk writes, gathered before any statement runs."""

    now: datetime
    rng: random.Random
    report: PollReport
    pushed: bool = False
    poll_only: list[dict[str, Any]] = field(default_factory=list)
    full: list[dict[str, Any]] = field(default_factory=list)
    deferred: list[dict[str, Any]] = field(default_factory=list)
    changed: dict[int, TrackingResult] = field(default_factory=dict)
    moved: list[Moved] = field(default_factory=list)

    def poll(
        self, row: Row[Any], next_at: datetime | None, note: str | None, errors: int, stopped: str | None
    ) -> dict[str, Any]:
        if stopped:
            log.info("poll_stopped", shipment_id=row.id, why=stopped, detail=note)
        # a push is no poll: it keeps the last poll's time (the detector's silence is measured to it)
        when = (
            {"pushed_at": self.now, "last_polled_at": row.last_polled_at}
            if self.pushed
            else {"last_polled_at": self.now}
        )
        return when | {
            "_id": row.id,
            "next_poll_at": next_at,
            "poll_leased_until": None,
            "poll_error": note,
            "poll_error_count": errors,
            "poll_stopped": stopped,
        }

    def failure(self, row: Row[Any], failure: Failure) -> None:
        self.report.failed += 1
        self.report.errors[failure.code] += 1
        count, note = row.poll_error_count + 1, f"{failure.code}: {failure.message}"
        if cadence.retired(now=self.now, tracked_since=row.shipped_at or row.created_at):
            self.report.stopped["retired"] += 1
            self.poll_only.append(self.poll(row, None, note, count, "retired"))
            return
        next_at = self.after_push(row, cadence.after_error(now=self.now, error_count=count, rng=self.rng))
        self.poll_only.append(self.poll(row, next_at, note, count, None))

    def after_push(self, row: Row[Any], next_at: datetime | None) -> datetime | None:
        """A shipment its carrier pushes is polled rarely (for a lost push): not before ``poll_when_pushed`` after
        the last push."""
        last_push = self.now if self.pushed else row.pushed_at
        if next_at is None or last_push is None:
            return next_at
        return max(next_at, last_push + get_carrier(row.carrier).poll_when_pushed)

    def defer(self, row: Row[Any], until: datetime) -> None:
        self.report.deferred += 1
        self.deferred.append({"_id": row.id, "next_poll_at": until, "poll_leased_until": None})

    def stop(self, row: Row[Any], message: str, errors: int) -> None:
        self.report.stopped["invalid_code"] += 1
        self.poll_only.append(self.poll(row, None, message, errors, "invalid_code"))

    def tracked(self, row: Row[Any], result: TrackingResult) -> None:
        if result.error and result.error.final:
            self.stop(row, result.error.message, 0)
            return
        note = "; ".join(([result.error.message] if result.error else []) + list(result.problems)) or None
        new_digest = digest(result)
        old_status, status = Status(row.status), result.status
        expected = result.expected_delivery or row.carrier_expected_delivery
        nxt = cadence.next_poll(
            status=status,
            now=self.now,
            tracked_since=row.shipped_at or row.created_at,
            expected=_earliest(expected, row.promised_delivery_date),
            became_final=status.is_final and (status != old_status or new_digest != row.events_digest),
            rng=self.rng,
        )
        next_at = self.after_push(row, nxt.at)
        if nxt.stopped:
            self.report.stopped[nxt.stopped] += 1
        if note and note != row.poll_error:  # said once, not on every poll
            log.warning("carrier_data_problem", shipment_id=row.id, tracking_code=row.tracking_code, problem=note)
        poll = self.poll(row, next_at, note, 0, nxt.stopped)
        if new_digest == row.events_digest:
            self.poll_only.append(poll)
            return
        self.report.changed += 1
        live = result.live_events
        last = live[-1] if live else None
        if status != old_status:
            self.report.transitions[(old_status.value, status.value)] += 1
            self.moved.append(Moved(row.id, old_status, status, last.occurred_at if last else None))
        self.changed[row.id] = result
        self.full.append(
            poll
            | {
                "status": status.value,
                "status_reason": last.reason.value if last and last.reason else None,
                "status_changed_at": self.now if status != old_status else row.status_changed_at,
                "last_event_at": last.occurred_at if last else None,
                "carrier_expected_delivery": expected,
                "delivered_at": next((e.occurred_at for e in reversed(live) if e.status is Status.DELIVERED), None),
                "events_digest": new_digest,
                "updated_at": self.now,
            }
        )


async def store_outcomes(
    session: AsyncSession,
    claimed: Sequence[Row[Any]],
    outcomes: dict[int, Outcome],
    *,
    now: datetime,
    rng: random.Random,
    detector: Detector | None = None,
    pushed: bool = False,
) -> PollReport:
    """Write the outcomes; with a ``detector``, detection runs on every shipment whose data changed, and its
    incidents are written in the same transaction. ``pushed``: the outcomes came by push, not by a poll."""
    writes = _Writes(now, rng, PollReport(polled=len(claimed)), pushed)
    for row in claimed:
        outcome = outcomes.get(row.id) or Failure(
            "no_answer", f"the carrier returned no result for {row.tracking_code}"
        )
        if isinstance(outcome, Deferred):
            writes.defer(row, outcome.until)
        elif isinstance(outcome, Failure):
            writes.failure(row, outcome)
        elif isinstance(outcome, Rejected):
            writes.stop(row, outcome.message, row.poll_error_count)
        else:
            writes.tracked(row, outcome)
    evaluation = await _evaluate(session, detector, claimed, writes) if detector is not None and writes.full else None
    await _write_events(session, writes)
    writes.report.polled -= writes.report.deferred
    for rows in (writes.full, writes.poll_only, writes.deferred):
        await update_rows(session, shipments_table, rows)
    if detector is not None and evaluation is not None:
        done = await detector.settle(session, evaluation, writes.moved, now)
        writes.report.incidents.update(done.opened)
    return writes.report


async def _evaluate(
    session: AsyncSession, detector: Detector, claimed: Sequence[Row[Any]], writes: _Writes
) -> Evaluation:
    """Run the detector on the changed shipments as they are about to be written; the columns it keeps on a
    shipment join its row's update."""
    by_id = {row.id: row for row in claimed}
    changed = [
        (
            {**by_id[pending["_id"]]._mapping, **pending, "id": pending["_id"]},
            writes.changed[pending["_id"]].live_events,
        )
        for pending in writes.full
    ]
    evaluation = await detector.evaluate(session, changed, writes.now)
    for pending, derived in zip(writes.full, evaluation.columns, strict=True):
        pending |= derived
    return evaluation


async def _write_events(session: AsyncSession, writes: _Writes) -> None:
    if not writes.changed:
        return
    stored: dict[EventKey, tuple[Any, ...]] = {}
    c = events_table.c
    query = select(c.shipment_id, c.occurred_at, c.code, c.voided, c.known_code, c.status, c.reason)
    for rows in await session.execute(query.where(c.shipment_id.in_(list(writes.changed)))):
        stored[(rows.shipment_id, rows.occurred_at, rows.code)] = tuple(rows[3:])
    new: list[dict[str, Any]] = []
    voids: list[dict[str, Any]] = []  # voided now, or re-statused (its code's meaning known or changed)
    with_stored = {shipment_id for shipment_id, _, _ in stored}
    for shipment_id, result in writes.changed.items():
        # none stored: every event is new, and no key is hashed (an aware datetime's hash asks its zone)
        some_stored = shipment_id in with_stored
        for e in result.events:
            key = (shipment_id, e.occurred_at, e.code)
            if not some_stored or key not in stored:
                new.append(_event_row(shipment_id, e, writes.now))
                if not e.known_code:
                    writes.report.unknown_codes[e.code] += 1
                continue
            meaning = (e.voided, e.known_code, e.status.value, e.reason.value if e.reason else None)
            if stored[key] != meaning:
                voids.append({"_sid": shipment_id, "_at": e.occurred_at, "_code": e.code} | _meaning(*meaning))
    await insert_rows(session, events_table, new, ["shipment_id", "occurred_at", "code"])  # another poller's skipped
    if voids:
        stmt = update(events_table).where(
            and_(c.shipment_id == bindparam("_sid"), c.occurred_at == bindparam("_at"), c.code == bindparam("_code"))
        )
        await session.execute(stmt, voids)
    writes.report.events = len(new) + len(voids)


def _meaning(voided: bool, known_code: bool, status: str, reason: str | None) -> dict[str, Any]:
    return {"voided": voided, "known_code": known_code, "status": status, "reason": reason}


def _event_row(shipment_id: int, e: TrackingEvent, now: datetime) -> dict[str, Any]:
    return {
        "shipment_id": shipment_id,
        "occurred_at": e.occurred_at,
        "code": e.code,
        "status": e.status.value,
        "reason": e.reason.value if e.reason else None,
        "description": e.description,
        "detail": e.detail,
        "location": e.location,
        "pickup_deadline": e.pickup_deadline,
        "known_code": e.known_code,
        "voided": e.voided,
        "raw": e.raw,
        "recorded_at": now,
    }


def _earliest(a: date | None, b: date | None) -> date | None:
    dates = [d for d in (a, b) if d is not None]
    return min(dates) if dates else None
