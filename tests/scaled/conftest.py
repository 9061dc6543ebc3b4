"""Fixtures of the scaled-mode fault tests: Redis database 12 and the PostgreSQL test database, both empty."""

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from arq import ArqRedis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import TABLES
from tests.scaled.harness import REDIS, Workers, worker_env
from tracker.queue import open_pool


@pytest.fixture
async def redis() -> AsyncIterator[ArqRedis]:
    pool = await open_pool(REDIS)
    await pool.flushdb()
    yield pool
    await pool.flushdb()
    await pool.aclose()


@pytest.fixture
async def pg(pg_engine: AsyncEngine) -> AsyncEngine:
    async with pg_engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
    return pg_engine


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Workers]:
    found = Workers(tmp_path, worker_env())
    yield found
    found.stop_all()
