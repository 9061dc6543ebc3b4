"""A circuit breaker per carrier account, kept in the database so every poller shares it.

After ``THRESHOLD`` consecutive failed batches the circuit opens for a cool-down that doubles each
time it re-opens (capped); while open, that account's shipments are not claimed. One successful batch
closes it.
"""

from datetime import datetime, timedelta

import structlog
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from carriers.base import CarrierError
from tracker.models import CarrierAccount, accounts_table

log = structlog.get_logger(__name__)
THRESHOLD = 5
COOL_DOWN = timedelta(minutes=2)
MAX_COOL_DOWN = timedelta(hours=1)


async def record(session: AsyncSession, account: CarrierAccount, error: CarrierError | None, now: datetime) -> None:
    """Record one batch outcome for ``account`` (atomic increments, safe under several pollers)."""
    table = accounts_table
    if error is None:
        if account.consecutive_failures or account.circuit_open_until:
            log.info("carrier_circuit_closed", account=account.name)
        await session.execute(
            update(table)
            .where(table.c.id == account.id)
            .values(consecutive_failures=0, circuit_open_until=None, last_success_at=now)
        )
        account.consecutive_failures, account.circuit_open_until = 0, None
        return
    failures = await session.scalar(
        update(table)
        .where(table.c.id == account.id)
        .values(consecutive_failures=table.c.consecutive_failures + 1, last_error=str(error))
        .returning(table.c.consecutive_failures)
    )
    account.consecutive_failures = failures = int(failures or 0)
    if failures >= THRESHOLD:
        cool_down = min(MAX_COOL_DOWN, COOL_DOWN * 2 ** ((failures - THRESHOLD) // THRESHOLD))
        await session.execute(update(table).where(table.c.id == account.id).values(circuit_open_until=now + cool_down))
        log.warning("carrier_circuit_open", account=account.name, failures=failures, until=str(now + cool_down))
