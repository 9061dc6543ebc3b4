"""Test helpers shared across the suite."""

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import uvicorn
from sqlalchemy.ext.asyncio import AsyncSession

from tracker.polling.accounts import add_account
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
