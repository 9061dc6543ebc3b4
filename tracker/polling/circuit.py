"""A circuit breaker per carrier account, kept in the database so every poller shares it.

Every failed carrier call counts (a call is one request and its retries). After ``THRESHOLD`` consecutive
failed calls the circuit opens for a cool-down; while open, the account's shipments are not claimed and a
poller issues none of its calls already queued. When the cool-down ends the circuit is half-open: one poller
takes the probe (:func:`take_probe`, a lease on the account's row, so workers do not all probe at once) and
makes one call; its failure re-opens the circuit for twice as long (capped), its success closes it. Calls
that were in flight when the circuit opened do not lengthen the cool-down.

Closing the circuit makes the account's shipments whose last poll failed due now: their own back-off (hours
by then) was the carrier's fault, not theirs, and they drain within the account's rate limit.

A ``Retry-After`` beyond what a call waits for itself (:func:`pause`) keeps the circuit open that long without
counting a failure: every poller leaves the account alone until then.
"""

from datetime import datetime, timedelta

import structlog
from sqlalchemy import or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from carriers.base import CarrierError
from tracker.models import CarrierAccount, accounts_table, shipments_table

log = structlog.get_logger(__name__)
THRESHOLD = 5
COOL_DOWN = timedelta(minutes=2)
MAX_COOL_DOWN = timedelta(hours=1)
PROBE_LEASE = timedelta(minutes=3)  # a poller that took the probe and died: another probes after this
_a, _s = accounts_table.c, shipments_table.c


def half_open(account: CarrierAccount, now: datetime) -> bool:
    """The circuit opened on failures and its cool-down has ended: one call may probe the carrier."""
    until = account.circuit_open_until
    return account.consecutive_failures >= THRESHOLD and until is not None and until <= now


async def take_probe(session: AsyncSession, account: CarrierAccount, now: datetime) -> bool:
    """Take the half-open account's probe for this poller; False when another poller took it first."""
    taken = await session.execute(
        update(accounts_table)
        .where(_a.id == account.id, _a.circuit_open_until <= now)
        .values(circuit_open_until=now + PROBE_LEASE)
    )
    return bool(taken.rowcount)  # type: ignore[attr-defined]


async def failed(
    session: AsyncSession, account: CarrierAccount, error: CarrierError, now: datetime, *, probe: bool = False
) -> datetime | None:
    """Count one failed call; the end of the circuit's cool-down when it is open now (None: still closed).
    A failure while the circuit is already open (a call in flight when it opened) is not counted; a failed
    ``probe`` always is, and re-opens it for longer."""
    counts = true() if probe else or_(_a.circuit_open_until.is_(None), _a.circuit_open_until <= now)
    counted = (
        await session.execute(
            update(accounts_table)
            .where(_a.id == account.id, counts)
            .values(consecutive_failures=_a.consecutive_failures + 1, last_error=str(error)[:500])
            .returning(_a.consecutive_failures)
        )
    ).scalar_one_or_none()
    if counted is None:
        until: datetime | None = await session.scalar(select(_a.circuit_open_until).where(_a.id == account.id))
        return until if until is not None and until > now else None
    account.consecutive_failures = failures = int(counted)
    if failures < THRESHOLD:
        return None
    cool_down = min(MAX_COOL_DOWN, COOL_DOWN * 2 ** min(failures - THRESHOLD, 10))
    until = now + cool_down
    await session.execute(update(accounts_table).where(_a.id == account.id).values(circuit_open_until=until))
    account.circuit_open_until = until
    log.warning("carrier_circuit_open", account=account.name, failures=failures, until=until.isoformat())
    return until


async def succeeded(session: AsyncSession, account: CarrierAccount, now: datetime) -> None:
    """A call answered: close the circuit; if it had opened, make the shipments that failed meanwhile due now."""
    before = (
        await session.execute(
            select(_a.consecutive_failures, _a.circuit_open_until).where(_a.id == account.id).with_for_update()
        )
    ).one()
    if not before.consecutive_failures and before.circuit_open_until is None:
        return
    opened = before.consecutive_failures >= THRESHOLD
    paused = not opened and before.circuit_open_until is not None and before.circuit_open_until > now
    until = before.circuit_open_until if paused else None  # a pause the carrier asked for stands until its end
    await session.execute(
        update(accounts_table)
        .where(_a.id == account.id)
        .values(consecutive_failures=0, circuit_open_until=until, last_success_at=now)
    )
    account.consecutive_failures, account.circuit_open_until = 0, until
    if not opened:
        return
    rescheduled = await session.execute(
        update(shipments_table)
        .where(
            _s.carrier_account_id == account.id,
            _s.poll_error_count > 0,
            _s.next_poll_at > now,
            _s.poll_leased_until.is_(None),  # claimed by a poller right now: its answer is on the way
        )
        .values(next_poll_at=now)
    )
    log.info("carrier_circuit_closed", account=account.name, rescheduled=max(rescheduled.rowcount, 0))  # type: ignore[attr-defined]


async def pause(session: AsyncSession, account: CarrierAccount, until: datetime) -> None:
    """The carrier asked for a pause (``Retry-After``): keep the account's circuit open until ``until``."""
    await session.execute(
        update(accounts_table)
        .where(_a.id == account.id, or_(_a.circuit_open_until.is_(None), _a.circuit_open_until < until))
        .values(circuit_open_until=until)
    )
    log.warning("carrier_paused", account=account.name, until=until.isoformat())
