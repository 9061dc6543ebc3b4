"""One poll run: claim chunk after chunk, issue each account's calls, store each chunk once it is answered.

The next chunk is claimed as soon as every call of the previous one has started, so a slow carrier keeps every
place of the poller's concurrency busy across chunks (a chunk's last calls no longer leave places idle while
they finish). Each chunk is stored in one transaction, once all its calls have answered; chunks start storing in
the order they were claimed, up to the poller's ``stores`` at once (on PostgreSQL three: one chunk's Python
runs while the others' statements do; their rows are disjoint, so neither waits on the other's locks but for the
accounts' ``last_success_at``, written last).

Each account has one issuer: it starts the account's batches one after another, each when its pacer and a
place allow, and stops starting them as soon as the account's circuit opens or the carrier asks for a pause
(``Retry-After``): the batches not started are deferred (``Deferred``), not failed. Every failed call counts
on the account's circuit at once (``circuit``), so it opens on the first failures of a run, not chunks later.
A half-open account's first call is its probe: nothing else of that account starts until it answers.
"""

import asyncio
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

import structlog
from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from carriers.base import CarrierError, CarrierSpec, RateLimited, Tracker
from carriers.base.registry import UnknownCarrier
from carriers.base.registry import get as get_carrier
from tracker.clock import Clock
from tracker.models import CarrierAccount
from tracker.polling import circuit
from tracker.polling.outcomes import Deferred, Failure, Outcome, Rejected
from tracker.polling.pace import Pacer
from tracker.polling.report import PollReport
from tracker.probes import CARRIER_CALLS

log = structlog.get_logger(__name__)
MAX_RATE_WAIT = 30.0  # seconds (what a call waits for itself): a bucket held longer, by a pause, defers the account


@dataclass(eq=False)
class Chunk:
    """Shipments claimed together and stored together; its batches are counted as they start and finish."""

    rows: Sequence[Row[Any]]
    claimed_at: datetime  # what the chunk's writes record as their time (events' ``recorded_at``, polls')
    leased_until: datetime  # the claim's ``poll_leased_until``: a row that no longer has it is another writer's
    start_by: datetime  # a batch starting later renews the lease first: its answer could come after it
    lost: set[int] = field(default_factory=set)  # rows another poller took over before a renewal: left to it
    renewing: asyncio.Lock = field(default_factory=asyncio.Lock)
    outcomes: dict[int, Outcome] = field(default_factory=dict)
    answered: set[int] = field(default_factory=set)  # accounts whose calls answered
    issued: asyncio.Event = field(default_factory=asyncio.Event)  # every batch started (or deferred)
    done: asyncio.Event = field(default_factory=asyncio.Event)  # every batch finished: ready to store
    _unissued: int = 0
    _open: int = 0

    def expect(self, batches: int) -> None:
        self._unissued, self._open = batches, batches
        if not batches:
            self.issued.set()
            self.done.set()

    def started(self) -> None:
        self._unissued -= 1
        if not self._unissued:
            self.issued.set()

    def finished(self) -> None:
        self._open -= 1
        if not self._open:
            self.done.set()


@dataclass
class Claim:
    """One claim: the chunk, the accounts as they stood, which of them were skipped (circuit open) and which this
    poller probes (half-open)."""

    chunk: Chunk | None
    accounts: dict[int, CarrierAccount]
    skipped: set[str] = field(default_factory=set)
    probes: set[int] = field(default_factory=set)


class Source(Protocol):
    """What a cycle needs of its poller (``tracker.polling.poller.Poller``)."""

    clock: Clock
    sessions: async_sessionmaker[AsyncSession]
    concurrency: int
    stores: int  # chunks stored at once

    async def claim(self, now: datetime) -> Claim: ...
    async def store(self, chunk: Chunk) -> PollReport: ...
    async def renew(self, chunk: Chunk) -> None: ...
    def tracker(self, account: CarrierAccount, spec: CarrierSpec) -> Tracker: ...
    def pacer(self, account: CarrierAccount, spec: CarrierSpec) -> Pacer: ...


@dataclass(eq=False)
class _Account:
    """One carrier account in this run."""

    row: CarrierAccount
    tracker: Tracker
    pacer: Pacer
    batches: asyncio.Queue[tuple[Chunk, list[Row[Any]]] | None] = field(default_factory=asyncio.Queue)
    probing: bool = False  # half-open: this run took the probe
    stopped_until: datetime | None = None  # circuit opened or the carrier asked for a pause: start nothing more
    issuer: asyncio.Task[None] | None = None


class Cycle:
    def __init__(self, poller: Source, report: PollReport) -> None:
        self.poller, self.report = poller, report
        self.gate = asyncio.Semaphore(poller.concurrency)
        self._accounts: dict[int, _Account | str] = {}  # a str: why it cannot be polled this run (logged once)
        self._to_store: asyncio.Queue[Chunk | None] = asyncio.Queue()
        self._tasks: set[asyncio.Task[Any]] = set()

    async def run(self, given: Claim | None = None) -> PollReport:
        """Poll what is due (or only ``given``, claimed already); return the report."""
        storer = self._spawn(self._store_all())
        try:
            if given is not None:
                self._take(given)
            else:
                while (claim := await self.poller.claim(self.poller.clock.now())).chunk is not None:
                    self._take(claim)
                    await claim.chunk.issued.wait()
                self.report.skipped_accounts |= claim.skipped
        except asyncio.CancelledError:
            for task in self._tasks:
                task.cancel()
            raise
        finally:
            await self._drain(storer)
        return self.report

    async def _drain(self, storer: "asyncio.Task[None]") -> None:
        """Let every started call finish and every claimed chunk be stored."""
        accounts = [a for a in self._accounts.values() if isinstance(a, _Account)]
        for account in accounts:
            account.batches.put_nowait(None)
        await asyncio.gather(*(a.issuer for a in accounts if a.issuer is not None))
        self._to_store.put_nowait(None)
        await storer

    def _spawn(self, work: Any) -> "asyncio.Task[Any]":
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _take(self, claim: Claim) -> None:
        """Route a claimed chunk: codes its carrier refuses are settled here, the rest queue as batches."""
        assert claim.chunk is not None
        chunk = claim.chunk
        self.report.skipped_accounts |= claim.skipped
        by_account: dict[int, list[Row[Any]]] = defaultdict(list)
        for row in chunk.rows:
            try:
                problem = get_carrier(row.carrier).check_code(row.tracking_code)
            except UnknownCarrier as exc:
                chunk.outcomes[row.id] = Failure("unknown_carrier", str(exc))
                continue
            if problem:
                chunk.outcomes[row.id] = Rejected(problem)
            else:
                by_account[row.carrier_account_id].append(row)
        batches: list[tuple[_Account, list[Row[Any]]]] = []
        for account_id, rows in sorted(by_account.items()):  # a stable order
            account = self._account(claim.accounts[account_id], rows, chunk)
            if account is None:
                continue
            if account_id in claim.probes:
                account.probing, account.stopped_until = True, None
            limit = account.tracker.batch_limit
            batches += [(account, rows[i : i + limit]) for i in range(0, len(rows), limit)]
        chunk.expect(len(batches))
        for account, rows in batches:
            account.batches.put_nowait((chunk, rows))
        self._to_store.put_nowait(chunk)

    def _account(self, row: CarrierAccount, rows: list[Row[Any]], chunk: Chunk) -> _Account | None:
        """The account's state in this run, made the first time; None when it cannot be polled (its rows fail)."""
        if row.id not in self._accounts:
            try:
                spec = get_carrier(row.carrier)
                made = _Account(row, self.poller.tracker(row, spec), self.poller.pacer(row, spec))
            except (UnknownCarrier, ValueError) as exc:  # adapter not installed, credentials unreadable, bad rate
                log.error("carrier_account_unusable", account=row.name, error=str(exc))
                self._accounts[row.id] = str(exc)
            else:
                made.issuer = self._spawn(self._issue(made))
                self._accounts[row.id] = made
        found = self._accounts[row.id]
        if isinstance(found, str):
            chunk.outcomes.update({r.id: Failure("account_unusable", found) for r in rows})
            return None
        return found

    async def _issue(self, account: _Account) -> None:
        """Start the account's batches one after another, each when its pacer and a place in ``gate`` allow."""
        running: list[asyncio.Task[None]] = []
        while (item := await account.batches.get()) is not None:
            chunk, rows = item
            try:
                if not (rows := await self._start(account, chunk, rows)):
                    continue
                call = self._spawn(self._call(account, chunk, rows))
                if account.probing:  # half-open: the probe answers before anything else of the account starts,
                    await call  # and before the next chunk is claimed (which then sees the circuit closed)
                else:
                    running.append(call)
                chunk.started()
            except Exception as exc:  # a bug must not stop the run: this batch fails, the others go on
                log.exception("poll_issue_crashed", account=account.row.name)
                chunk.outcomes.update({r.id: Failure("internal_error", f"{type(exc).__name__}: {exc}") for r in rows})
                chunk.started()
                chunk.finished()
        await asyncio.gather(*running)

    async def _start(self, account: _Account, chunk: Chunk, rows: list[Row[Any]]) -> list[Row[Any]]:
        """Take the account's pace and a place: the rows to ask for now, holding the place; none (holding
        nothing) when the batch is deferred, or every row of it was taken over by another poller."""
        until = account.stopped_until
        if until is None:
            wait = await account.pacer.begin(self.gate, MAX_RATE_WAIT)
            if wait is not None:  # the shared bucket is booked far ahead: other workers, or a pause
                until = account.stopped_until = self.poller.clock.now() + timedelta(seconds=wait)
            elif account.stopped_until is not None:  # holding a place now: the circuit opened meanwhile
                until = account.stopped_until
                self.gate.release()
        if until is not None:
            chunk.outcomes.update({r.id: Deferred(until) for r in rows})
        elif self.poller.clock.now() > chunk.start_by:  # the answer could come after the lease: renew it
            async with chunk.renewing:
                if self.poller.clock.now() > chunk.start_by:
                    await self.poller.renew(chunk)
            if rows := [r for r in rows if r.id not in chunk.lost]:
                return rows
            self.gate.release()
        else:
            return rows
        chunk.started()
        chunk.finished()
        return []

    async def _call(self, account: _Account, chunk: Chunk, rows: list[Row[Any]]) -> None:
        """One carrier call; its place is held until its outcome has counted on the account's circuit, so the
        account's next call starts knowing whether this one opened it."""
        name = account.row.name
        try:
            results = await account.tracker.track([r.tracking_code for r in rows])
        except RateLimited as exc:
            CARRIER_CALLS.labels(name, exc.code).inc()
            if exc.retry_after is None:
                await self._failed(account, chunk, rows, exc)
            else:
                await self._paused(account, chunk, rows, exc.retry_after)
        except CarrierError as exc:
            CARRIER_CALLS.labels(name, exc.code).inc()
            await self._failed(account, chunk, rows, exc)
        except Exception as exc:  # a bug must not stop the other batches
            log.exception("poll_batch_crashed", account=name)
            chunk.outcomes.update({r.id: Failure("internal_error", f"{type(exc).__name__}: {exc}") for r in rows})
        else:
            CARRIER_CALLS.labels(name, "ok").inc()
            by_code = {r.tracking_code: r for r in results}
            for row in rows:
                if (result := by_code.get(row.tracking_code)) is not None:
                    chunk.outcomes[row.id] = result
            chunk.answered.add(account.row.id)
            if account.probing or account.row.consecutive_failures or account.row.circuit_open_until is not None:
                account.probing = False
                await self._circuit(circuit.succeeded, account.row, self.poller.clock.now())
        finally:
            self.gate.release()
            chunk.finished()

    async def _failed(self, account: _Account, chunk: Chunk, rows: list[Row[Any]], exc: CarrierError) -> None:
        log.warning("poll_batch_failed", account=account.row.name, code=exc.code, error=str(exc))
        chunk.outcomes.update({r.id: Failure(exc.code, str(exc)) for r in rows})
        probe, account.probing = account.probing, False
        until = await self._circuit(circuit.failed, account.row, exc, self.poller.clock.now(), probe=probe)
        if until is not None:
            account.stopped_until = until

    async def _paused(self, account: _Account, chunk: Chunk, rows: list[Row[Any]], seconds: float) -> None:
        """The carrier asked for ``seconds`` of quiet: the account starts nothing until then, in any poller."""
        until = self.poller.clock.now() + timedelta(seconds=seconds)
        chunk.outcomes.update({r.id: Deferred(until) for r in rows})
        account.probing = False
        if account.stopped_until is None or account.stopped_until < until:
            account.stopped_until = until
        if account.pacer.shared is not None:
            await account.pacer.shared.hold(seconds)  # workers already past their claim wait too
        await self._circuit(circuit.pause, account.row, until)

    async def _circuit(self, record: Any, *args: Any, **kwargs: Any) -> Any:
        """Write the circuit's state in its own transaction; a failed write is logged, the poll goes on."""
        try:
            async with self.poller.sessions() as session, session.begin():
                return await record(session, *args, **kwargs)
        except Exception:
            log.exception("carrier_circuit_write_failed", account=args[0].name)
            return None

    async def _store_all(self) -> None:
        places = asyncio.Semaphore(self.poller.stores)
        storing: list[asyncio.Task[None]] = []
        while (chunk := await self._to_store.get()) is not None:
            await chunk.done.wait()
            await places.acquire()
            storing.append(self._spawn(self._store(chunk, places)))
        await asyncio.gather(*storing)

    async def _store(self, chunk: Chunk, places: asyncio.Semaphore) -> None:
        try:
            self.report.merge(await self.poller.store(chunk))
        finally:
            places.release()
