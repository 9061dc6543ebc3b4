"""The poller: claims due shipments in chunks, hands them to a cycle (``tracker.polling.cycle``) that fetches
them per carrier account, and stores each chunk's answers in one transaction.

Claiming leases the due shipments in the same statement (``poll_leased_until``; a leased shipment is not due
until its lease ends), so several pollers never take the same shipment (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL); the claim writes no other column, so PostgreSQL updates the row in place without touching an index
(migration 0016). A poller killed mid-chunk only delays those shipments by the lease, and the next run reports
the leases that ran out. A chunk's writes are its poller's while the lease is the one it took. The lease
is sized to the work: one carrier call's budget plus the time the slowest account's rate limit needs to issue
a chunk, never more than ``lease``.

Each account's requests are spaced to its rate limit (``pace``: the account's ``requests_per_second``, else its
carrier's, kept a few percent under it), run concurrently up to ``concurrency`` in flight; in scaled mode
(``redis``) the limit is one bucket every worker books from.
"""

import asyncio
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
import structlog
from sqlalchemy import Row, and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from carriers.base import CarrierSpec, Sleep, Tracker
from carriers.base.registry import UnknownCarrier
from carriers.base.registry import get as get_carrier
from tracker.clock import Clock
from tracker.detector import Detector
from tracker.limits import SharedRate
from tracker.models import CarrierAccount, accounts_table, shipments_table
from tracker.polling import circuit
from tracker.polling.accounts import account_config, rate_limit, release_held
from tracker.polling.cycle import Chunk, Claim, Cycle
from tracker.polling.outcomes import Failure, Outcome, store_outcomes
from tracker.polling.pace import SLOWEST, Pacer
from tracker.polling.report import PollReport
from tracker.vault import Vault

log = structlog.get_logger(__name__)
shipments = shipments_table
RATE_MARGIN = 0.97  # requests are spaced to this share of an account's limit: arrival jitter stays under it
CLAIMED_COLUMNS = (
    shipments.c.id,
    shipments.c.carrier,
    shipments.c.carrier_account_id,
    shipments.c.tracking_code,
    shipments.c.status,
    shipments.c.status_changed_at,
    shipments.c.events_digest,
    shipments.c.poll_error,
    shipments.c.poll_error_count,
    shipments.c.last_polled_at,
    shipments.c.pushed_at,
    shipments.c.created_at,
    shipments.c.shipped_at,
    shipments.c.carrier_expected_delivery,
    shipments.c.promised_delivery_date,
    # what the detector needs besides (tracker/detector/facts.py)
    shipments.c.service,
    shipments.c.destination_state,
    shipments.c.original_promise_date,
    shipments.c.original_promise_source,
)


@dataclass
class Poller:
    sessions: async_sessionmaker[AsyncSession]
    http: httpx.AsyncClient
    clock: Clock
    vault: Vault
    chunk: int = 500
    concurrency: int = 8
    stores: int = 1  # chunks stored at once (``poller_of``: three on PostgreSQL; SQLite has one writer)
    lease: timedelta = timedelta(minutes=5)  # the longest a claim holds its shipments
    call_budget: timedelta = timedelta(minutes=2, seconds=30)  # the longest one carrier call takes, retries included
    sleep: Sleep = asyncio.sleep
    rng: random.Random = field(default_factory=random.Random)
    detector: Detector | None = None  # runs on every shipment that changed, in the same transaction
    redis: Any = None  # scaled mode: each account's rate limit is a Redis bucket every worker books from
    _trackers: dict[int, Tracker] = field(default_factory=dict, init=False)
    _pacers: dict[int, tuple[float | None, Pacer]] = field(default_factory=dict, init=False)

    async def run_once(self) -> PollReport:
        """Poll every shipment due now; return what happened."""
        report = PollReport()
        now = self.clock.now()
        async with self.sessions() as session, session.begin():
            report.released = await release_held(session, now)
            report.leases_expired = await expired_leases(session, now)
        return await Cycle(self, report).run()

    async def poll_claimed(
        self, claimed: Sequence[Row[Any]], accounts: dict[int, CarrierAccount], claimed_at: datetime
    ) -> tuple[dict[int, Outcome], PollReport]:
        """Fetch and store shipments claimed elsewhere (``refresh``) at ``claimed_at`` for ``lease``: their
        outcomes and what was stored."""
        chunk = self._chunk(claimed, claimed_at, claimed_at + self.lease)
        report = await Cycle(self, PollReport()).run(Claim(chunk, accounts))
        return chunk.outcomes, report

    def _chunk(self, rows: Sequence[Row[Any]], now: datetime, leased_until: datetime) -> Chunk:
        """A chunk leased from ``now``: its batches start while half a call's budget of its lease is left."""
        return Chunk(rows, now, leased_until, self._start_by(now, leased_until))

    def _start_by(self, now: datetime, leased_until: datetime) -> datetime:
        return leased_until - min(self.call_budget, leased_until - now) / 2

    async def renew(self, chunk: Chunk) -> None:
        """Lease the chunk's shipments again for as long, from now (its calls queued longer than planned); the
        ones another poller took meanwhile (the lease had run out) are the chunk's ``lost``."""
        now = self.clock.now()
        until = now + (chunk.leased_until - chunk.claimed_at)
        ids = [r.id for r in chunk.rows if r.id not in chunk.lost]
        async with self.sessions() as session, session.begin():
            stmt = (
                update(shipments)
                .where(shipments.c.id.in_(ids), shipments.c.poll_leased_until == chunk.leased_until)
                .values(poll_leased_until=until)
                .returning(shipments.c.id)
            )
            kept = set(await session.scalars(stmt))
        chunk.lost.update(i for i in ids if i not in kept)
        chunk.leased_until, chunk.start_by = until, self._start_by(now, until)
        log.info("poll_lease_renewed", shipments=len(kept), lost=len(ids) - len(kept))

    async def claim(self, now: datetime) -> Claim:
        async with self.sessions() as session, session.begin():
            accounts = {a.id: a for a in await session.scalars(select(CarrierAccount))}
            probes = {a.id for a in accounts.values() if circuit.half_open(a, now)}
            probes = {i for i in probes if await circuit.take_probe(session, accounts[i], now)}
            open_ids = [a.id for a in accounts.values() if a.circuit_open(now) and a.id not in probes]
            open_ids += [a.id for a in accounts.values() if circuit.half_open(a, now) and a.id not in probes]
            due = select(shipments.c.id).where(due_now(now))
            if open_ids:
                due = due.where(shipments.c.carrier_account_id.not_in(open_ids))
            due = due.order_by(shipments.c.next_poll_at).limit(self.chunk).with_for_update(skip_locked=True)
            leased_until = now + self._lease(accounts.values())
            stmt = (
                update(shipments)
                .where(shipments.c.id.in_(due.scalar_subquery()))
                .values(poll_leased_until=leased_until)
                .returning(*CLAIMED_COLUMNS)
            )
            claimed = (await session.execute(stmt)).all()
        chunk = self._chunk(claimed, now, leased_until) if claimed else None
        return Claim(chunk, accounts, {accounts[i].name for i in open_ids}, probes)

    def _lease(self, accounts: Any) -> timedelta:
        """One call's budget plus the time the slowest account's limit takes to start a chunk's calls."""
        rates = []
        for account in accounts:
            try:
                rates.append(rate_limit(account, get_carrier(account.carrier)))
            except UnknownCarrier:
                continue
        slowest = min((r for r in rates if r), default=None)
        issue = timedelta(seconds=self.chunk / (slowest * RATE_MARGIN)) if slowest else timedelta(0)
        return min(self.lease, self.call_budget + issue)

    async def store(self, chunk: Chunk) -> PollReport:
        """Write a chunk's outcomes in one transaction (shipment by shipment if that fails)."""
        now = chunk.claimed_at
        try:
            async with self.sessions() as session, session.begin():
                report = await self._store_rows(session, chunk, chunk.rows, chunk.outcomes, now)
                if chunk.answered:
                    await session.execute(
                        update(accounts_table)
                        .where(accounts_table.c.id.in_(sorted(chunk.answered)))
                        .values(last_success_at=now)
                    )
            return report
        except Exception:
            log.exception("poll_store_failed_isolating", shipments=len(chunk.rows))
        # One unstorable answer must not block its whole chunk: store shipment by shipment, and record the
        # ones that still fail as failed polls (retried with back-off) instead of leaving them leased forever.
        report = PollReport()
        for row in chunk.rows:
            try:
                async with self.sessions() as session, session.begin():
                    report.merge(await self._store_rows(session, chunk, [row], chunk.outcomes, now))
            except Exception as exc:
                failure: dict[int, Outcome] = {
                    row.id: Failure("store_failed", f"{type(exc).__name__}: {str(exc)[:300]}")
                }
                async with self.sessions() as session, session.begin():
                    report.merge(await self._store_rows(session, chunk, [row], failure, now))
        return report

    async def _store_rows(
        self,
        session: AsyncSession,
        chunk: Chunk,
        rows: Sequence[Row[Any]],
        outcomes: dict[int, Outcome],
        now: datetime,
    ) -> PollReport:
        mine = await self._still_ours(session, rows, chunk.leased_until)
        return await store_outcomes(session, mine, outcomes, now=now, rng=self.rng, detector=self.detector)

    async def _still_ours(
        self, session: AsyncSession, claimed: Sequence[Row[Any]], leased_until: datetime
    ) -> list[Row[Any]]:
        """The claimed rows this poller may still write, locked: its lease not yet taken over by another
        poller and the tracking code not corrected meanwhile. Anything else is left to the newer writer."""
        query = (
            select(shipments.c.id, shipments.c.tracking_code)
            .where(shipments.c.id.in_([r.id for r in claimed]), shipments.c.poll_leased_until == leased_until)
            .order_by(shipments.c.id)  # locks taken in id order, as the push applier takes them: no deadlock
            .with_for_update()
        )
        ours = {(row.id, row.tracking_code) for row in await session.execute(query)}
        return [r for r in claimed if (r.id, r.tracking_code) in ours]

    def tracker(self, account: CarrierAccount, spec: CarrierSpec) -> Tracker:
        tracker = self._trackers.get(account.id)
        if tracker is None:
            config = account_config(account, self.vault)
            tracker = self._trackers[account.id] = spec.make_tracker(config, self.http, self.clock.now, self.sleep)
        return tracker

    def pacer(self, account: CarrierAccount, spec: CarrierSpec) -> Pacer:
        """The account's pacer, kept across cycles (so a new cycle does not start with a burst)."""
        limit = rate_limit(account, spec)
        kept = self._pacers.get(account.id)
        if kept is not None and kept[0] == limit:
            return kept[1]
        rate = max(limit * RATE_MARGIN, SLOWEST) if limit else None
        shared = SharedRate(self.redis, f"zelo:rate:account:{account.id}", rate) if self.redis and rate else None
        pacer = Pacer(rate, self.clock.now, self.sleep, shared)
        self._pacers[account.id] = (limit, pacer)
        return pacer


def unleased(now: datetime) -> Any:
    """In no poller's hands: never leased, or its lease past its end (a lease past its end holds nothing)."""
    leased = shipments.c.poll_leased_until
    return or_(leased.is_(None), leased <= now)


def due_now(now: datetime) -> Any:
    """Due and in no poller's hands."""
    return and_(shipments.c.next_poll_at <= now, unleased(now))


async def expired_leases(session: AsyncSession, now: datetime) -> int:
    """Clear and count the leases that ran out with nothing stored (their shipments are due again): a poller
    died or stalled holding them."""
    stmt = (  # a leased shipment was due when claimed: the due index finds it
        update(shipments)
        .where(shipments.c.next_poll_at <= now, shipments.c.poll_leased_until <= now)
        .values(poll_leased_until=None)
    )
    expired = max(int((await session.execute(stmt)).rowcount), 0)  # type: ignore[attr-defined]
    if expired:
        log.warning("poll_leases_expired", shipments=expired)
    return expired
