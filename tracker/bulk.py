"""Many rows in one statement, for the hot paths that write a chunk at a time (the poll's store).

On PostgreSQL the rows go as one JSON text, read back by ``json_to_recordset`` with each column's type: one
statement whatever their number, its text the same for the same columns (prepared once per connection), and
PostgreSQL runs it as one plan instead of one execution per row. orjson writes the whole chunk in one call, where
asyncpg's arrays (one a column) checked and encoded every value one by one: 11% less CPU per first-sight poll
(``bench/NOTES.md``). SQLite (one writer, rows in-process) keeps the executemany. Every row of one call has the
same keys; values are what the columns take (aware datetimes, as ``UTCDateTime`` asks; JSON columns' values as
they are, nested).
"""

import json
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from functools import cache
from typing import Any

import orjson
from sqlalchemy import JSON, Table, bindparam, text, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from tracker.db import insert_skipping_duplicates

_PG = postgresql.dialect()  # type: ignore[no-untyped-call]


async def update_rows(session: AsyncSession, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """``UPDATE table SET … WHERE id = row["_id"]`` for each row; the SET clause is the rows' other keys."""
    if not rows:
        return
    if not _postgres(session):
        await session.execute(update(table).where(table.c.id == bindparam("_id")), rows)
        return
    await session.execute(text(_update_sql(table, tuple(rows[0]))), {"rows": _json_rows(rows)})


async def insert_rows(
    session: AsyncSession, table: Table, rows: Sequence[dict[str, Any]], key: list[str] | None = None
) -> None:
    """Insert the rows; with ``key`` (a unique constraint's columns), skipping any whose key is stored already (or
    comes twice)."""
    if not rows:
        return
    if not _postgres(session):
        insert = table.insert() if key is None else insert_skipping_duplicates(session, table, key)
        await session.execute(insert, rows)
        return
    await session.execute(text(_insert_sql(table, tuple(rows[0]), tuple(key or ()))), {"rows": _json_rows(rows)})


def _postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _json_rows(rows: Sequence[dict[str, Any]]) -> str:
    try:
        return orjson.dumps(rows, default=_plain, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:  # what orjson refuses (an integer beyond 64 bits, in a carrier's raw event): the stdlib
        return json.dumps(rows, default=_plain)


def _plain(value: Any) -> Any:
    if isinstance(value, date):  # datetimes too (the stdlib's fallback; orjson writes them itself)
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not a column value")


@cache
def _record(table: Table, keys: tuple[str, ...]) -> str:
    """``json_to_recordset(:rows) AS u(…)``: the keys, each with its column's type (``_id``: the id's)."""
    columns = []
    for name in keys:
        column = table.c["id" if name == "_id" else name]
        kind = "json" if isinstance(column.type, JSON) else column.type.compile(dialect=_PG)
        columns.append(f"{name} {kind}")
    return f"json_to_recordset(CAST(:rows AS json)) AS u({', '.join(columns)})"


@cache
def _update_sql(table: Table, keys: tuple[str, ...]) -> str:
    assignments = ", ".join(f"{k} = u.{k}" for k in keys if k != "_id")
    return f"UPDATE {table.name} AS t SET {assignments} FROM {_record(table, keys)} WHERE t.id = u._id"  # noqa: S608


@cache
def _insert_sql(table: Table, keys: tuple[str, ...], key: tuple[str, ...]) -> str:
    values = ", ".join(f"u.{k}" for k in keys)
    skip = f" ON CONFLICT ({', '.join(key)}) DO NOTHING" if key else ""
    return f"INSERT INTO {table.name} ({', '.join(keys)}) SELECT {values} FROM {_record(table, keys)}{skip}"  # noqa: S608
