"""Write poll outcomes: events (never twice), shipment status and poll state, in one transaction."""

import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import structlog
from sqlalchemy import Row, bindparam, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from carriers.base import Status, TrackingResult
from tracker import schedule
from tracker.models import events_table, shipments_table
from tracker.report import PollReport

log = structlog.get_logger(__name__)
shipments = shipments_table


@dataclass(frozen=True, slots=True)
class Failure:
    """The poll of this shipment failed (carrier fault, no answer); it will be retried with backoff."""

    code: str
    message: str


@dataclass(frozen=True, slots=True)
class Rejected:
    """The tracking code can never be tracked (fails its carrier's format): stop polling it."""

    message: str


Outcome = TrackingResult | Failure | Rejected


def digest(result: TrackingResult) -> str:
    h = hashlib.blake2b(digest_size=16)
    h.update(f"{result.expected_delivery}|{result.error and result.error.code}".encode())
    for e in result.events:
        h.update(f"|{e.occurred_at.isoformat()}/{e.code}/{int(e.voided)}".encode())
    return h.hexdigest()


async def store_outcomes(
    session: AsyncSession,
    claimed: Sequence[Row[Any]],
    outcomes: dict[int, Outcome],
    *,
    now: datetime,
    rng: random.Random,
) -> PollReport:
    report = PollReport(polled=len(claimed))
    full: list[dict[str, Any]] = []
    light: list[dict[str, Any]] = []
    event_rows: list[dict[str, Any]] = []
    for row in claimed:
        outcome = outcomes.get(row.id) or Failure(
            "no_answer", f"the carrier returned no result for {row.tracking_code}"
        )
        if isinstance(outcome, Failure):
            report.failed += 1
            report.errors[outcome.code] += 1
            count = row.poll_error_count + 1
            light.append(
                _poll_fields(
                    row.id,
                    now,
                    schedule.after_error(now=now, error_count=count, rng=rng),
                    f"{outcome.code}: {outcome.message}",
                    count,
                    None,
                )
            )
        elif isinstance(outcome, Rejected):
            report.stopped["invalid_code"] += 1
            light.append(_poll_fields(row.id, now, None, outcome.message, row.poll_error_count, "invalid_code"))
        else:
            _tracked(row, outcome, now, rng, report, full, light, event_rows)
    if event_rows:
        await session.execute(_upsert_events(session), event_rows)
    if full:
        await session.execute(_update(), full)
    if light:
        await session.execute(_update(), light)
    report.events = len(event_rows)
    return report


def _tracked(
    row: Row[Any],
    result: TrackingResult,
    now: datetime,
    rng: random.Random,
    report: PollReport,
    full: list[dict[str, Any]],
    light: list[dict[str, Any]],
    event_rows: list[dict[str, Any]],
) -> None:
    for problem in result.problems:
        log.warning("carrier_data_problem", shipment_id=row.id, tracking_code=row.tracking_code, problem=problem)
    for e in result.events:
        if not e.known_code:
            report.unknown_codes[e.code] += 1
    if result.error and result.error.final:
        report.stopped["invalid_code"] += 1
        light.append(_poll_fields(row.id, now, None, result.error.message, 0, "invalid_code"))
        return
    note = "; ".join(([result.error.message] if result.error else []) + list(result.problems)) or None
    new_digest = digest(result)
    old_status = Status(row.status)
    status = result.status
    expected = result.expected_delivery or row.carrier_expected_delivery
    nxt = schedule.next_poll(
        status=status,
        now=now,
        tracked_since=row.shipped_at or row.created_at,
        expected=_earliest(expected, row.promised_delivery_date),
        became_final=status.is_final and (status != old_status or new_digest != row.events_digest),
        rng=rng,
    )
    if nxt.stopped:
        report.stopped[nxt.stopped] += 1
    if new_digest == row.events_digest:
        light.append(_poll_fields(row.id, now, nxt.at, note, 0, nxt.stopped))
        return
    report.changed += 1
    live = result.live_events
    last = live[-1] if live else None
    if status != old_status:
        report.transitions[(old_status.value, status.value)] += 1
    delivered = next((e.occurred_at for e in reversed(live) if e.status is Status.DELIVERED), None)
    full.append(
        _poll_fields(row.id, now, nxt.at, note, 0, nxt.stopped)
        | {
            "status": status.value,
            "status_reason": last.reason.value if last and last.reason else None,
            "status_changed_at": now if status != old_status else row.status_changed_at,
            "last_event_at": last.occurred_at if last else None,
            "carrier_expected_delivery": expected,
            "delivered_at": delivered,
            "events_digest": new_digest,
            "updated_at": now,
        }
    )
    for e in result.events:
        event_rows.append(
            {
                "shipment_id": row.id,
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
        )


def _earliest(a: date | None, b: date | None) -> date | None:
    return min(d for d in (a, b) if d is not None) if a or b else None


def _poll_fields(
    shipment_id: int,
    now: datetime,
    next_at: datetime | None,
    error: str | None,
    errors: int,
    stopped: str | None,
) -> dict[str, Any]:
    return {
        "_id": shipment_id,
        "last_polled_at": now,
        "next_poll_at": next_at,
        "poll_error": error,
        "poll_error_count": errors,
        "poll_stopped": stopped,
    }


def _update() -> Any:
    """Executemany UPDATE; the SET clause comes from the parameter keys (all rows share one key set)."""
    return update(shipments).where(shipments.c.id == bindparam("_id"))


def _upsert_events(session: AsyncSession) -> Any:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(events_table)
    return stmt.on_conflict_do_update(
        index_elements=["shipment_id", "occurred_at", "code"], set_={"voided": stmt.excluded.voided}
    )
