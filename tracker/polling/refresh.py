"""Poll one shipment now, due or not (``zelo poll --shipment``, ``POST /v1/shipments/{id}/refresh``): the same
fetch and store as a scheduled poll, so the detector judges it in the same transaction; then what changed."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from math import ceil
from typing import Any, Literal

from sqlalchemy import Row, select, update

from tracker.models import CarrierAccount, events_table, shipments_table
from tracker.polling.outcomes import Deferred, Failure, Outcome, Rejected
from tracker.polling.poller import CLAIMED_COLUMNS, Poller
from tracker.polling.report import PollReport

shipments = shipments_table
Why = Literal["not_found", "held", "circuit_open", "too_soon"]


class NotRefreshable(Exception):
    """This shipment cannot be polled now: ``why`` says which case, ``retry_after`` (seconds) when it passes."""

    def __init__(self, why: Why, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.why, self.retry_after = why, retry_after


@dataclass(frozen=True)
class NewEvent:
    occurred_at: datetime
    code: str
    status: str
    description: str
    location: str | None


@dataclass
class Refreshed:
    """What one shipment's refresh changed."""

    shipment_id: int
    tracking_code: str
    polled_at: datetime
    status_before: str
    status_after: str
    events: list[NewEvent] = field(default_factory=list)  # new since the last poll, oldest first
    incidents_opened: list[str] = field(default_factory=list)  # kinds, by the detector in the same transaction
    error: str | None = None  # the poll failed (retried on the schedule) or the carrier does not know the code


async def refresh(poller: Poller, shipment_id: int, *, every: timedelta | None = None) -> Refreshed:
    """Poll ``shipment_id`` now; with ``every``, at most once per that interval (a poll on the schedule counts)."""
    now = poller.clock.now()
    async with poller.sessions() as session, session.begin():
        found = (
            await session.execute(
                select(shipments.c.carrier, shipments.c.carrier_account_id, shipments.c.last_polled_at).where(
                    shipments.c.id == shipment_id
                )
            )
        ).one_or_none()
        if found is None:
            raise NotRefreshable("not_found", f"no shipment with id {shipment_id}")
        if found.carrier_account_id is None:
            raise NotRefreshable(
                "held",
                f"shipment {shipment_id} is held: there is no {found.carrier} carrier account to poll it with; "
                f"add one (`zelo accounts add {found.carrier} ...`) and its held shipments are polled",
            )
        account = await session.get(CarrierAccount, found.carrier_account_id)
        assert account is not None  # a foreign key
        if account.circuit_open(now) and account.circuit_open_until is not None:
            raise NotRefreshable(
                "circuit_open",
                f"carrier account {account.name!r} is failing: its circuit is open until "
                f"{account.circuit_open_until:%Y-%m-%dT%H:%M:%SZ}, when polls resume",
                _seconds(account.circuit_open_until - now),
            )
        last = found.last_polled_at
        if every is not None and last is not None and last > now - every:
            raise NotRefreshable(
                "too_soon",
                f"shipment {shipment_id} was polled {_seconds(now - last)} s ago; "
                f"a refresh is allowed once per {every.total_seconds():g} s",
                _seconds(last + every - now),
            )
        claim = (
            update(shipments)
            .where(
                shipments.c.id == shipment_id,
                shipments.c.last_polled_at.is_(None) if last is None else shipments.c.last_polled_at == last,
            )
            # a second refresh meanwhile: too soon
            .values(poll_leased_until=now + poller.lease, last_polled_at=now)
            .returning(*CLAIMED_COLUMNS)
        )
        claimed = (await session.execute(claim)).all()
    if not claimed:
        raise NotRefreshable(
            "too_soon", f"shipment {shipment_id} is being polled right now", _seconds(every or timedelta(seconds=1))
        )
    outcomes, report = await poller.poll_claimed(claimed, {account.id: account}, now)
    return await _what_changed(poller, claimed[0], outcomes.get(shipment_id), report, now)


async def _what_changed(
    poller: Poller, row: Row[Any], outcome: Outcome | None, report: PollReport, now: datetime
) -> Refreshed:
    shipment_id: int = row.id
    async with poller.sessions() as session:
        status = await session.scalar(select(shipments.c.status).where(shipments.c.id == shipment_id))
        events = (
            await session.execute(
                select(
                    events_table.c.occurred_at,
                    events_table.c.code,
                    events_table.c.status,
                    events_table.c.description,
                    events_table.c.location,
                )
                .where(events_table.c.shipment_id == shipment_id, events_table.c.recorded_at == now)
                .order_by(events_table.c.occurred_at)
            )
        ).all()
    if isinstance(outcome, Failure | Rejected):
        error: str | None = outcome.message
    elif isinstance(outcome, Deferred):
        error = f"the carrier asked for a pause: polled again after {outcome.until:%Y-%m-%dT%H:%M:%SZ}"
    elif outcome is None:
        error = "the carrier's answer did not mention this tracking code"
    else:
        error = outcome.error.message if outcome.error else None
    return Refreshed(
        shipment_id=shipment_id,
        tracking_code=row.tracking_code,
        polled_at=now,
        status_before=row.status,
        status_after=status or row.status,
        events=[NewEvent(*e) for e in events],
        incidents_opened=sorted(report.incidents.elements()),
        error=error,
    )


def _seconds(delta: timedelta) -> int:
    return max(1, ceil(delta.total_seconds()))


__all__ = ["NewEvent", "NotRefreshable", "Refreshed", "refresh"]
