"""Test helpers shared across the suite."""

import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import datetime

import uvicorn
from arq import ArqRedis
from sqlalchemy.ext.asyncio import AsyncSession

from tracker.polling.accounts import add_account
from tracker.queue import open_pool
from tracker.vault import Vault


class RecordingSleep:
    """Stands in for asyncio.sleep: records each wait and returns at once."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


async def correios_account(
    session: AsyncSession, vault: Vault, *, name: str, now: datetime, base_url: str | None = None
) -> int:
    """A Correios account with placeholder credentials (tests talk to respx or the sandbox)."""
    credentials = {"user": "u", "access_code": "c", "posting_card": "1"}
    account = await add_account(
        session, vault, carrier="correios", name=name, base_url=base_url, now=now, credentials=credentials
    )
    return account.id


@asynccontextmanager
async def empty_queue(url: str) -> AsyncIterator[ArqRedis]:
    """A queue pool on the Redis database ``url`` (a test's own), flushed before and after."""
    pool = await open_pool(url)
    await pool.flushdb()
    try:
        yield pool
    finally:
        await pool.flushdb()
        await pool.aclose()


@contextmanager
def running(config: uvicorn.Config) -> Iterator[int]:
    """A uvicorn server in a thread (``config`` with ``port=0``), started; its port. Stopped on exit."""
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield server.servers[0].sockets[0].getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(timeout=10)
