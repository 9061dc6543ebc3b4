"""Group commit for webhooks: concurrent requests share one transaction, and each is acknowledged only
after that transaction has committed. Under load this turns N commits into one, which is what lets a
2-core machine acknowledge far more durable webhooks per second than one transaction per request.

A ``webhook-id`` seen before is answered with the stored response, from the same transaction that
would have stored it, so a replay never does the work twice.
"""

import asyncio
from dataclasses import dataclass, field
from typing import Any

import structlog
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tracker.clock import Clock
from tracker.ingest.models import receipts_table
from tracker.ingest.schemas import IngestResponse, ItemResult
from tracker.ingest.service import Valid, upsert, with_retry

log = structlog.get_logger(__name__)


@dataclass
class Job:
    receipt_id: str
    items: list[Valid]
    rejected: list[ItemResult]  # items that failed validation, answered alongside
    done: asyncio.Future[tuple[dict[str, Any], bool]] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class GroupCommit:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock, *, max_items: int = 2000) -> None:
        self._sessions = sessions
        self._clock = clock
        self._max_items = max_items
        self._queue: asyncio.Queue[Job] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None

    async def submit(
        self, receipt_id: str, items: list[Valid], rejected: list[ItemResult]
    ) -> tuple[dict[str, Any], bool]:
        """Store one webhook's shipments; returns (response body, replayed) once committed."""
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._run(), name="ingest-group-commit")
        job = Job(receipt_id, items, rejected)
        await self._queue.put(job)
        return await job.done

    async def close(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            await asyncio.sleep(0)  # let requests already being handled join this transaction
            size = len(batch[0].items)
            while size < self._max_items and not self._queue.empty():
                batch.append(self._queue.get_nowait())
                size += len(batch[-1].items)
            await self._commit(batch)

    async def _commit(self, batch: list[Job]) -> None:
        try:
            answers = await with_retry(self._sessions, lambda session: self._process(session, batch))
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
            if not job.done.done():
                job.done.set_result(answer)

    async def _process(self, session: AsyncSession, batch: list[Job]) -> list[tuple[dict[str, Any], bool]]:
        now = self._clock.now()
        ids = list({job.receipt_id for job in batch})
        stored = {
            row.id: row.response
            for row in await session.execute(
                select(receipts_table.c.id, receipts_table.c.response).where(receipts_table.c.id.in_(ids))
            )
        }
        fresh: dict[str, Job] = {}
        for job in batch:
            if job.receipt_id not in stored:
                fresh.setdefault(job.receipt_id, job)
        jobs = list(fresh.values())
        items = [item for job in jobs for item in job.items]
        results = iter(await upsert(session, items, source="webhook", now=now))
        receipts = []
        for job in jobs:
            mine = [next(results) for _ in job.items]
            body = IngestResponse(results=sorted(mine + job.rejected, key=lambda r: r.index)).model_dump(mode="json")
            stored[job.receipt_id] = body
            receipts.append({"id": job.receipt_id, "received_at": now, "response": body})
        if receipts:
            await session.execute(insert(receipts_table), receipts)
        return [(stored[job.receipt_id], fresh.get(job.receipt_id) is not job) for job in batch]
