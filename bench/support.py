"""Helpers shared by the benchmarks (run them as modules from the repository root: python -m bench.poll)."""

import os
import socket
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tracker.db import make_engine

ROOT = Path(__file__).resolve().parent.parent
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


def start_server(
    target: str, port: int, env: dict[str, str], workers: int, *, timeout_s: float = 30
) -> subprocess.Popen[bytes]:
    """uvicorn serving ``target`` (an app, or the ``app_from_env`` factory) with ``workers`` processes; returns once
    it answers (within ``timeout_s``: a shared, busy machine starts it slowly)."""
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        target,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    if target.endswith("app_from_env"):
        cmd.append("--factory")
    proc = subprocess.Popen(cmd, env=os.environ | env, cwd=ROOT)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=1)
            return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"{target} did not start on port {port}")
