"""Ingest housekeeping jobs (queue-agnostic, like every ``tasks.py``)."""

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tracker.ingest.models import IdempotencyKey, WebhookReceipt
from tracker.runtime import runtime_of

RECEIPTS_KEPT = timedelta(days=7)  # a replayed webhook-id is recognised for at least 72 h (Standard Webhooks)
IDEMPOTENCY_KEYS_KEPT = timedelta(hours=24)  # as Stripe


async def purge_expired(ctx: dict[str, Any]) -> dict[str, int]:
    """Job: forget webhook receipts and idempotency keys past their retention."""
    runtime = runtime_of(ctx)
    return await purge(runtime.sessions, runtime.clock.now())


async def purge(sessions: async_sessionmaker[AsyncSession], now: datetime) -> dict[str, int]:
    async with sessions() as session, session.begin():
        receipts = await session.execute(delete(WebhookReceipt).where(WebhookReceipt.received_at < now - RECEIPTS_KEPT))
        keys = await session.execute(
            delete(IdempotencyKey).where(IdempotencyKey.created_at < now - IDEMPOTENCY_KEYS_KEPT)
        )
    return {"receipts": receipts.rowcount, "idempotency_keys": keys.rowcount}  # type: ignore[attr-defined]
