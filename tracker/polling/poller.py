"""The poll cycle: claim due shipments, batch them per carrier account, fetch, store.

Claiming moves ``next_poll_at`` forward by a lease in the same statement, so several pollers never
take the same shipment (``FOR UPDATE SKIP LOCKED`` on PostgreSQL) and a poller killed mid-batch only
delays those shipments by the lease. Fetching chunk N+1 overlaps storing chunk N.

Each account's batches start one after another, spaced to its rate limit (``pace``: the account's
``requests_per_second``, else its carrier's), and run concurrently up to ``concurrency`` requests in flight.
The limit is kept by each poller: N pollers on one account may together make N times its requests.
"""

import asyncio
import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
import structlog
from sqlalchemy import Row, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from carriers.base import CarrierError, CarrierSpec, Sleep, Tracker
from carriers.base.registry import UnknownCarrier
from carriers.base.registry import get as get_carrier
from tracker.clock import Clock
from tracker.detector import Detector
from tracker.limits import SharedRate
from tracker.models import CarrierAccount, shipments_table
from tracker.polling import circuit
from tracker.polling.accounts import account_config, rate_limit, release_held
from tracker.polling.outcomes import Failure, Outcome, Rejected, store_outcomes
from tracker.polling.pace import Pacer
from tracker.polling.report import PollReport
from tracker.probes import CARRIER_CALLS
from tracker.vault import Vault

log = structlog.get_logger(__name__)
shipments = shipments_table
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
    lease: timedelta = timedelta(minutes=5)
    sleep: Sleep = asyncio.sleep
    rng: random.Random = field(default_factory=random.Random)
    detector: Detector | None = None  # runs on every shipment that changed, in the same transaction
    redis: Any = None  # scaled mode: each account's rate limit is a Redis bucket every worker books from
    _trackers: dict[int, Tracker] = field(default_factory=dict, init=False)
    _pacers: dict[int, Pacer] = field(default_factory=dict, init=False)

    async def run_once(self) -> PollReport:
        """Poll every shipment due now; return what happened."""
        report = PollReport()
        async with self.sessions() as session, session.begin():
            report.released = await release_held(session, self.clock.now())
        storing: asyncio.Task[PollReport] | None = None
        while True:
            now = self.clock.now()
            claimed, accounts, skipped = await self._claim(now)
            report.skipped_accounts |= skipped
            if not claimed:
                break
            outcomes, account_errors = await self._fetch(claimed, accounts)
            if storing is not None:
                report.merge(await storing)
            storing = asyncio.create_task(self._store(claimed, outcomes, account_errors, accounts, now))
        if storing is not None:
            report.merge(await storing)
        return report

    async def _claim(self, now: datetime) -> tuple[Sequence[Row[Any]], dict[int, CarrierAccount], set[str]]:
        async with self.sessions() as session, session.begin():
            accounts = {a.id: a for a in await session.scalars(select(CarrierAccount))}
            open_ids = [a.id for a in accounts.values() if a.circuit_open(now)]
            due = select(shipments.c.id).where(shipments.c.next_poll_at <= now)
            if open_ids:
                due = due.where(shipments.c.carrier_account_id.not_in(open_ids))
            due = due.order_by(shipments.c.next_poll_at).limit(self.chunk).with_for_update(skip_locked=True)
            stmt = (
                update(shipments)
                .where(shipments.c.id.in_(due.scalar_subquery()))
                .values(next_poll_at=now + self.lease)
                .returning(*CLAIMED_COLUMNS)
            )
            claimed = (await session.execute(stmt)).all()
        return claimed, accounts, {accounts[i].name for i in open_ids}

    async def _fetch(
        self, claimed: Sequence[Row[Any]], accounts: dict[int, CarrierAccount]
    ) -> tuple[dict[int, Outcome], dict[int, CarrierError | None]]:
        outcomes: dict[int, Outcome] = {}
        by_account: dict[int, list[Row[Any]]] = defaultdict(list)
        for row in claimed:
            try:
                problem = get_carrier(row.carrier).check_code(row.tracking_code)
            except UnknownCarrier as exc:
                outcomes[row.id] = Failure("unknown_carrier", str(exc))
                continue
            if problem:
                outcomes[row.id] = Rejected(problem)
            else:
                by_account[row.carrier_account_id].append(row)
        trackers: dict[int, Tracker] = {}
        pacers: dict[int, Pacer] = {}
        for account_id, rows in by_account.items():
            try:
                spec = get_carrier(accounts[account_id].carrier)
                tracker, pacer = self._tracker(accounts[account_id], spec), self._pacer(accounts[account_id], spec)
                trackers[account_id], pacers[account_id] = tracker, pacer
            except (UnknownCarrier, ValueError) as exc:  # adapter not installed, credentials unreadable, bad rate
                log.error("carrier_account_unusable", account=accounts[account_id].name, error=str(exc))
                outcomes.update({r.id: Failure("account_unusable", str(exc)) for r in rows})
        account_errors: dict[int, CarrierError | None] = {}
        gate = asyncio.Semaphore(self.concurrency)

        async def fetch(account_id: int, rows: list[Row[Any]]) -> None:
            """One batch, started holding a place in ``gate``, which it gives back when done."""
            tracker = trackers[account_id]
            try:
                results = await tracker.track([r.tracking_code for r in rows])
            except CarrierError as exc:
                CARRIER_CALLS.labels(accounts[account_id].name, exc.code).inc()
                account_errors[account_id] = exc
                log.warning("poll_batch_failed", account=accounts[account_id].name, code=exc.code, error=str(exc))
                outcomes.update({r.id: Failure(exc.code, str(exc)) for r in rows})
                return
            except Exception as exc:  # a bug must not stop the other batches
                log.exception("poll_batch_crashed", account=accounts[account_id].name)
                outcomes.update({r.id: Failure("internal_error", f"{type(exc).__name__}: {exc}") for r in rows})
                return
            finally:
                gate.release()
            account_errors.setdefault(account_id, None)
            CARRIER_CALLS.labels(accounts[account_id].name, "ok").inc()
            by_code = {r.tracking_code: r for r in results}
            for row in rows:
                if (result := by_code.get(row.tracking_code)) is not None:
                    outcomes[row.id] = result

        async def issue(account_id: int) -> None:
            """Start the account's batches one after another, each when its pacer and a place in ``gate`` allow."""
            rows, limit, pacer = by_account[account_id], trackers[account_id].batch_limit, pacers[account_id]
            running = []
            for i in range(0, len(rows), limit):
                await pacer.ready()  # waits holding no place in ``gate``: other accounts' batches go on meanwhile
                await gate.acquire()
                pacer.started()
                running.append(asyncio.create_task(fetch(account_id, rows[i : i + limit])))
            await asyncio.gather(*running)

        await asyncio.gather(*(issue(account_id) for account_id in sorted(trackers)))  # a stable order
        return outcomes, account_errors

    async def _store(
        self,
        claimed: Sequence[Row[Any]],
        outcomes: dict[int, Outcome],
        account_errors: dict[int, CarrierError | None],
        accounts: dict[int, CarrierAccount],
        now: datetime,
    ) -> PollReport:
        try:
            async with self.sessions() as session, session.begin():
                report = await self._store_chunk(session, claimed, outcomes, now)
                for account_id, error in account_errors.items():
                    await circuit.record(session, accounts[account_id], error, now)
            return report
        except Exception:
            log.exception("poll_store_failed_isolating", shipments=len(claimed))
        # One unstorable answer must not block its whole chunk: store shipment by shipment, and record the
        # ones that still fail as failed polls (retried with back-off) instead of leaving them leased forever.
        report = PollReport()
        for row in claimed:
            try:
                async with self.sessions() as session, session.begin():
                    report.merge(await self._store_chunk(session, [row], outcomes, now))
            except Exception as exc:
                failure: dict[int, Outcome] = {
                    row.id: Failure("store_failed", f"{type(exc).__name__}: {str(exc)[:300]}")
                }
                async with self.sessions() as session, session.begin():
                    report.merge(await self._store_chunk(session, [row], failure, now))
        return report

    async def _store_chunk(
        self, session: AsyncSession, claimed: Sequence[Row[Any]], outcomes: dict[int, Outcome], now: datetime
    ) -> PollReport:
        mine = await self._still_ours(session, claimed, now)
        return await store_outcomes(session, mine, outcomes, now=now, rng=self.rng, detector=self.detector)

    async def _still_ours(
        self, session: AsyncSession, claimed: Sequence[Row[Any]], claimed_at: datetime
    ) -> list[Row[Any]]:
        """The claimed rows this poller may still write, locked: its lease not yet taken over by another
        poller and the tracking code not corrected meanwhile. Anything else is left to the newer writer."""
        query = (
            select(shipments.c.id, shipments.c.tracking_code)
            .where(shipments.c.id.in_([r.id for r in claimed]), shipments.c.next_poll_at == claimed_at + self.lease)
            .order_by(shipments.c.id)  # locks taken in id order, as the push applier takes them: no deadlock
            .with_for_update()
        )
        ours = {(row.id, row.tracking_code) for row in await session.execute(query)}
        return [r for r in claimed if (r.id, r.tracking_code) in ours]

    def _tracker(self, account: CarrierAccount, spec: CarrierSpec) -> Tracker:
        tracker = self._trackers.get(account.id)
        if tracker is None:
            config = account_config(account, self.vault)
            tracker = self._trackers[account.id] = spec.make_tracker(config, self.http, self.clock.now, self.sleep)
        return tracker

    def _pacer(self, account: CarrierAccount, spec: CarrierSpec) -> Pacer:
        """The account's pacer, kept across cycles (so a new cycle does not start with a burst)."""
        rate = rate_limit(account, spec)
        pacer = self._pacers.get(account.id)
        if pacer is None or pacer.rate != rate:
            shared = SharedRate(self.redis, f"zelo:rate:account:{account.id}", rate) if self.redis and rate else None
            pacer = self._pacers[account.id] = Pacer(rate, self.clock.now, self.sleep, shared)
        return pacer
