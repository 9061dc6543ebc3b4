"""Helpers shared by the benchmarks (run them as modules from the repository root: python -m bench.poll)."""

import os
import socket
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tracker.db import make_engine

PG_SERVER = os.environ.get("ZELO_BENCH_PG", "postgresql+asyncpg://postgres@127.0.0.1:5432")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def pg_database(name: str) -> str:
    """An empty PostgreSQL database ``name`` (dropped first if it exists); its URL."""
    admin = make_engine(f"{PG_SERVER}/test", isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        await conn.execute(text(f"CREATE DATABASE {name}"))
    await admin.dispose()
    return f"{PG_SERVER}/{name}"


async def bench_account(conn: AsyncConnection, now: datetime) -> int:
    """A placeholder carrier account for benchmarks that generate their shipments inside PostgreSQL."""
    account = await conn.scalar(
        text(
            "INSERT INTO carrier_accounts (carrier, name, base_url, credentials, created_at, "
            "consecutive_failures) VALUES ('correios', 'bench', 'http://x', '-', :now, 0) RETURNING id"
        ),
        {"now": now},
    )
    return int(account)
