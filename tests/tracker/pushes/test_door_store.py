"""The door's cost: the push accounts read once per cache period, a push stored in one statement on connections
the door keeps, and pushes stored still after PostgreSQL drops every connection."""

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from tests.carriers.loggi.samples import item, journey, package
from tests.tracker.pushes.conftest import count, loggi_push, settled
from tracker.clock import SimulatedClock
from tracker.pushes.models import CarrierPush
from tracker.pushes.store import POOL, push_store

Sessions = async_sessionmaker[AsyncSession]


async def test_the_door_reads_the_push_accounts_once_within_the_cache_ttl(
    app: Any, http: httpx.AsyncClient, clock: SimulatedClock, loggi: int
) -> None:
    reads: list[str] = []  # the door's query of the accounts that may push

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.startswith("SELECT carrier_accounts.id, carrier_accounts.credentials \n"):
            reads.append(statement)

    event.listen(app.state.runtime.engine.sync_engine, "before_cursor_execute", seen)
    pushes = [loggi_push([package([item("1", f"2021-05-03T1{n}:00:00Z")])]) for n in range(4)]
    answers = await asyncio.gather(*(http.post("/v1/webhooks/carriers/loggi", **push) for push in pushes[:3]))
    assert [a.status_code for a in answers] == [202] * 3  # arriving together on a cold cache: one read
    assert (await http.post("/v1/webhooks/carriers/loggi", **pushes[3])).status_code == 202
    await settled(app)
    assert len(reads) == 1
    clock.advance(timedelta(seconds=10))  # past the TTL: a new or changed account is seen
    push = loggi_push([package([item("2", "2021-05-03T20:00:00Z")])])
    assert (await http.post("/v1/webhooks/carriers/loggi", **push)).status_code == 202
    assert len(reads) == 2


async def test_a_push_is_stored_in_one_statement_on_a_connection_kept_open(
    app: Any, http: httpx.AsyncClient, sessions: Sessions, loggi: int
) -> None:
    """No pre-ping, no BEGIN … COMMIT: the door's cost was its round trips to the database."""
    assert (await http.post("/v1/webhooks/carriers/loggi", **loggi_push([package()]))).status_code == 202
    await settled(app)
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    store = push_store(app.state.runtime)
    event.listen(store.engine.sync_engine, "before_cursor_execute", seen)
    assert (await http.post("/v1/webhooks/carriers/loggi", **loggi_push([package(journey())]))).status_code == 202
    assert [s.split()[0] for s in statements] == ["INSERT"]
    assert (await http.post("/v1/webhooks/carriers/loggi", **loggi_push([package(journey())]))).status_code == 200
    assert [s.split()[0] for s in statements] == ["INSERT", "INSERT", "SELECT"]  # a replay: its id is looked up


async def test_concurrent_pushes_wait_for_the_doors_connections_instead_of_opening_more(
    app: Any, http: httpx.AsyncClient, engine: AsyncEngine, loggi: int
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("the PostgreSQL pool")
    opened: list[int] = []
    event.listen(push_store(app.state.runtime).engine.sync_engine.pool, "connect", lambda *_: opened.append(1))
    for batch in range(2):  # the second finds the first's connections kept, none closed and opened again
        pushes = [loggi_push([package([item("1", f"2021-05-0{batch + 1}T{n:02d}:00:00Z")])]) for n in range(24)]
        answers = await asyncio.gather(*(http.post("/v1/webhooks/carriers/loggi", **push) for push in pushes))
        assert [a.status_code for a in answers] == [202] * len(pushes)
    assert 1 <= len(opened) <= POOL["pool_size"]
    await settled(app)


async def test_pushes_survive_postgres_dropping_every_connection(
    app: Any, http: httpx.AsyncClient, sessions: Sessions, engine: AsyncEngine, loggi: int
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("connection loss is a PostgreSQL server fault")
    assert (await http.post("/v1/webhooks/carriers/loggi", **loggi_push([package()]))).status_code == 202
    await settled(app)
    async with engine.connect() as conn:  # what a PostgreSQL restart does to every client connection
        await conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
    answer = await http.post("/v1/webhooks/carriers/loggi", **loggi_push([package(journey())]))
    assert answer.status_code == 202, answer.text
    assert answer.json()["replayed"] is False
    await settled(app)
    assert await count(sessions, CarrierPush) == 2
