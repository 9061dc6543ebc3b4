"""Fixtures of the scaled-mode fault tests: Redis database 12, emptied, and the workers (the emptied PostgreSQL
test database is `pg`, in tests/conftest.py)."""

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from arq import ArqRedis

from tests.scaled.harness import REDIS, Workers, worker_env
from tests.support import empty_queue


@pytest.fixture
async def redis() -> AsyncIterator[ArqRedis]:
    async with empty_queue(REDIS) as pool:
        yield pool


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Workers]:
    found = Workers(tmp_path, worker_env())
    yield found
    found.stop_all()
