"""Group commit for webhooks: concurrent requests share one transaction, and each is acknowledged only
after that transaction has committed. Under load this turns N commits into one, which is what lets a
2-core machine acknowledge far more durable webhooks per second than one transaction per request.

A ``webhook-id`` seen before is answered with the stored response, from the same transaction that
would have stored it, so a replay never does the work twice; the same id with another body (a hash of the
raw body is kept with the receipt, and read by the same lookup) is refused, as ``Idempotency-Key`` does.
"""

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import structlog
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tracker.clock import Clock
from tracker.ingest import pg
from tracker.ingest.pg import PgStore
from tracker.ingest.schemas import ItemResult, ingest_response
from tracker.ingest.service import Account, IngestStore, Receipt, Valid, decide
from tracker.ingest.sql import SqlStore
from tracker.problems import ProblemError

log = structlog.get_logger(__name__)
LINGER_S = 0.002  # longest a request waits for a busy transaction to end before it starts another
GATHER = 8  # requests waiting that start another transaction at once while one is busy
ACCOUNTS_TTL_S = 5.0  # the carrier accounts are read again after this many seconds (or for an item they lack)
_LOST = pg.LOST
_RACE = (IntegrityError, *pg.RACE)
Answer = tuple[str, bool]  # (response JSON, replayed)


@dataclass
class Job:
    receipt_id: str
    body_hash: str  # SHA-256 of the raw body, hex
    items: list[Valid]
    rejected: list[ItemResult]  # items that failed validation, answered alongside
    done: asyncio.Future[Answer] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class GroupCommit:
    """One collector feeds at most ``slots`` concurrent transactions. While every slot is busy, arriving
    requests queue up, and the next free slot takes them all: under load transactions fill up by
    themselves; when idle, a lone request is committed at once."""

    def __init__(self, engine: AsyncEngine, clock: Clock, *, max_items: int = 2000, slots: int = 2) -> None:
        self._engine = engine
        self._clock = clock
        self._max_items = max_items
        self._slots = asyncio.Semaphore(slots)
        self._slot_count = slots
        self._queue: asyncio.Queue[Job] = asyncio.Queue()
        self._collector: asyncio.Task[None] | None = None
        self._running: set[asyncio.Task[None]] = set()
        self._ended = asyncio.Event()  # set when a transaction ends
        self._accounts: tuple[float, list[Account]] = (-ACCOUNTS_TTL_S, [])
        self._held: list[tuple[AsyncConnection, Any]] = []  # PostgreSQL: idle (connection, asyncpg connection)
        if engine.dialect.name == "postgresql":
            event.listen(engine.sync_engine, "connect", pg.plan_once)

    async def start(self) -> None:
        """On PostgreSQL, open the connections and prepare the statements now: the first webhooks would
        otherwise wait for that (hundreds of milliseconds on a cold server)."""
        if self._engine.dialect.name == "postgresql":
            await asyncio.gather(*(self._warm() for _ in range(self._slot_count)))

    async def _warm(self) -> None:
        async with self._pg_store() as store:
            await store.warm()

    async def submit(self, receipt_id: str, body_hash: str, items: list[Valid], rejected: list[ItemResult]) -> Answer:
        """Store one webhook's shipments; returns (response body, replayed) once committed. Raises a 409
        :class:`ProblemError` when ``receipt_id`` was answered for another body."""
        if self._collector is None or self._collector.done():
            self._collector = asyncio.create_task(self._collect(), name="ingest-group-commit")
        job = Job(receipt_id, body_hash, items, rejected)
        await self._queue.put(job)
        return await job.done

    async def close(self) -> None:
        for task in (self._collector, *self._running):
            if task is not None:
                task.cancel()
        await asyncio.gather(*(t for t in (self._collector, *self._running) if t is not None), return_exceptions=True)
        held, self._held = self._held, []
        for conn, _ in held:
            await conn.close()

    async def _collect(self) -> None:
        while True:
            batch = [await self._queue.get()]
            await self._slots.acquire()  # meanwhile, requests keep arriving and queue up
            if self._running and self._queue.qsize() < GATHER:
                # another transaction is busy and few requests wait: let arrivals join this one until it ends
                # (at most LINGER_S). Starting at once commits a few at a time, each paying a transaction's fixed
                # cost: more CPU a request
                self._ended.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._ended.wait(), LINGER_S)
            size = len(batch[0].items)
            while size < self._max_items and not self._queue.empty():
                batch.append(self._queue.get_nowait())
                size += len(batch[-1].items)
            task = asyncio.create_task(self._commit(batch))
            self._running.add(task)
            task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        self._slots.release()
        self._ended.set()

    async def _commit(self, batch: list[Job]) -> None:
        try:
            answers = await self._transaction(batch)
        except Exception as exc:
            if len(batch) > 1:  # isolate the job that fails; the others still commit
                for job in batch:
                    await self._commit([job])
                return
            log.exception("webhook_commit_failed", webhook_id=batch[0].receipt_id)
            if not batch[0].done.done():
                batch[0].done.set_exception(exc)
            return
        for job, answer in zip(batch, answers, strict=True):
            if job.done.done():
                continue
            if isinstance(answer, ProblemError):
                job.done.set_exception(answer)
            else:
                job.done.set_result(answer)

    async def _transaction(self, batch: list[Job]) -> list[Answer | ProblemError]:
        """One transaction for the batch; retried on a unique-key race (it then sees the other writer's
        rows) or a deadlock, and on a connection found dead (the engine skips pre-ping: that saves a round trip)."""
        for attempt in range(3):
            try:
                async with self._store() as store:
                    return await self._process(store, batch)
            except (*_RACE, *_LOST, DBAPIError) as exc:
                lost = isinstance(exc, _LOST) or (isinstance(exc, DBAPIError) and exc.connection_invalidated)
                if attempt == 2 or not (lost or isinstance(exc, _RACE)):
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    @asynccontextmanager
    async def _store(self) -> AsyncIterator[IngestStore]:
        """A store for one transaction: asyncpg directly on PostgreSQL, SQLAlchemy Core elsewhere."""
        if self._engine.dialect.name == "postgresql":
            async with self._pg_store() as store:
                yield store
            return
        async with self._engine.connect() as conn, conn.begin():
            yield SqlStore(conn)

    @asynccontextmanager
    async def _pg_store(self) -> AsyncIterator[PgStore]:
        """A PgStore on a connection its slot keeps between transactions, instead of checking one out of the
        pool and back in every time (greenlet switches and pool bookkeeping, paid by every transaction)."""
        if self._held:
            conn, raw = self._held.pop()
        else:
            conn = await self._engine.connect()
            raw = (await conn.get_raw_connection()).driver_connection
        keep = False
        try:
            yield PgStore(raw)
            keep = True
        except _LOST:  # SQLAlchemy did not see it: drop this connection, the held ones and the pool's others
            held, self._held = self._held, []
            for dead in (conn, *(c for c, _ in held)):
                await dead.invalidate()
            await self._engine.dispose()
            raise
        except Exception:  # any transaction was rolled back: the connection is fine
            keep = True
            raise
        finally:
            if keep:
                self._held.append((conn, raw))
            elif not conn.invalidated:  # cancelled mid-transaction: the pool resets it, or discards it
                await conn.close()

    async def _accounts_of(self, store: IngestStore, items: list[Valid]) -> list[Account]:
        """The carrier accounts, as read at most ``ACCOUNTS_TTL_S`` ago; read again now if an item names a carrier or
        an account they lack (it would be held: it may have been added since)."""
        fetched_at, accounts = self._accounts
        if time.monotonic() - fetched_at <= ACCOUNTS_TTL_S:
            carriers = {a.carrier for a in accounts}
            names = {(a.carrier, a.name) for a in accounts}
            if all(
                i.shipment.carrier in carriers
                and (i.shipment.carrier_account is None or (i.shipment.carrier, i.shipment.carrier_account) in names)
                for i in items
            ):
                return accounts
        accounts = await store.accounts()
        self._accounts = (time.monotonic(), accounts)
        return accounts

    async def _process(self, store: IngestStore, batch: list[Job]) -> list[Answer | ProblemError]:
        """Look up (receipts already answered, stored shipments), decide, store: two steps on the database."""
        now = self._clock.now()
        items = [item for job in batch for item in job.items]
        accounts = await self._accounts_of(store, items)
        receipt_ids = list({job.receipt_id for job in batch})
        found = await store.lookup(receipt_ids, items)
        answered = found.answered
        fresh: dict[str, Job] = {}
        for job in batch:
            if job.receipt_id not in answered:
                fresh.setdefault(job.receipt_id, job)
        jobs = list(fresh.values())
        plan = decide([item for job in jobs for item in job.items], found.current, accounts, source="webhook", now=now)

        def receipts() -> dict[str, Receipt]:  # once the new shipments have their ids
            results = iter(plan.results)
            new = {}
            for job in jobs:
                mine = [next(results) for _ in job.items]
                body = ingest_response(sorted(mine + job.rejected, key=lambda r: r.index) if job.rejected else mine)
                new[job.receipt_id] = Receipt(job.body_hash, body)
            answered.update(new)
            return new

        if jobs:
            await store.store(plan, receipts, now)
        return [_answer(job, answered[job.receipt_id], fresh.get(job.receipt_id) is job) for job in batch]


def _answer(job: Job, receipt: Receipt, fresh: bool) -> Answer | ProblemError:
    """The answer to ``job``: its new receipt, or a replay of the stored one if it is for the same body (or for
    one that was never hashed)."""
    if fresh:
        return receipt.response, False
    if receipt.body_hash not in (None, job.body_hash):
        return ProblemError(
            409,
            "webhook-id reused",
            f"webhook-id {job.receipt_id!r} was used with a different body; send new data under a new webhook-id "
            "(the same body again is answered as before)",
        )
    return receipt.response, True
