"""Engine and session factory. The same code runs on SQLite (embedded) and PostgreSQL (scaled)."""

import json
from typing import Any

import orjson
from sqlalchemy import Select, Table, event, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

POOL_TIMEOUT_S = 10.0  # a request waits this long for a connection, then is answered 503 (tracker/overload.py)


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def make_engine(url: str, *, pre_ping: bool = True, **kwargs: Any) -> AsyncEngine:
    """``pre_ping`` tests each pooled connection before use (one round trip), so a database restart
    costs no failed query; hot paths that retry on a dead connection themselves can turn it off."""
    kwargs.setdefault("hide_parameters", True)  # error messages never carry customer data
    kwargs.setdefault("json_serializer", json_text)
    if is_sqlite(url):
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    kwargs = {"pool_size": 10, "max_overflow": 10, "pool_timeout": POOL_TIMEOUT_S} | kwargs
    return create_async_engine(url, pool_pre_ping=pre_ping, **kwargs)


def json_text(value: Any) -> str:
    """A JSON column's value as text: orjson (an eighth of ``json.dumps``'s CPU on a carrier event's ``raw``, which
    every new event stores), and what orjson refuses (an integer beyond 64 bits) through ``json.dumps``."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        return json.dumps(value)


def _sqlite_pragmas(dbapi_conn: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def insert_skipping_duplicates(session: AsyncSession, table: Table, key: list[str]) -> Any:
    """``INSERT … ON CONFLICT (key) DO NOTHING`` in the session's dialect (PostgreSQL or SQLite)."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    return insert(table).on_conflict_do_nothing(index_elements=key)


async def count_upto(session: AsyncSession, rows: Select[Any], limit: int) -> int:
    """How many rows ``rows`` selects, counting no further than ``limit`` (a check that must stay cheap)."""
    return int(await session.scalar(select(func.count()).select_from(rows.limit(limit).subquery())) or 0)


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
