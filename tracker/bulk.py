"""Many rows in one statement, for the hot paths that write a chunk at a time (the poll's store).

On PostgreSQL the rows go as one array per column through ``unnest``: one statement whatever their number, its
text the same for the same columns (prepared once per connection), and PostgreSQL runs it as one plan instead of
one execution per row; asyncpg encodes each array in one call. SQLite (one writer, no arrays, rows in-process)
keeps the executemany. Every row of one call has the same keys. Values go as the driver takes them: aware
datetimes (as the columns' ``UTCDateTime`` asks), JSON columns' values encoded here.
"""

from collections.abc import Sequence
from functools import cache
from operator import itemgetter
from typing import Any

from sqlalchemy import JSON, Table, bindparam, text, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from tracker.db import insert_skipping_duplicates, json_text

_PG = postgresql.dialect()  # type: ignore[no-untyped-call]


async def update_rows(session: AsyncSession, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """``UPDATE table SET … WHERE id = row["_id"]`` for each row; the SET clause is the rows' other keys."""
    if not rows:
        return
    keys = tuple(rows[0])
    if not _postgres(session):
        await session.execute(update(table).where(table.c.id == bindparam("_id")), rows)
        return
    await session.execute(text(_update_sql(table, keys)), _arrays(table, keys, rows))


async def insert_rows(
    session: AsyncSession, table: Table, rows: Sequence[dict[str, Any]], key: list[str] | None = None
) -> None:
    """Insert the rows; with ``key`` (a unique constraint's columns), skipping any whose key is stored already."""
    if not rows:
        return
    keys = tuple(rows[0])
    if not _postgres(session):
        insert = table.insert() if key is None else insert_skipping_duplicates(session, table, key)
        await session.execute(insert, rows)
        return
    await session.execute(text(_insert_sql(table, keys, tuple(key or ()))), _arrays(table, keys, rows))


def _postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _arrays(table: Table, keys: tuple[str, ...], rows: Sequence[dict[str, Any]]) -> dict[str, list[Any]]:
    columns = zip(*map(itemgetter(*keys), rows), strict=True) if len(keys) > 1 else ([r[keys[0]] for r in rows],)
    arrays = {}
    for n, (name, values) in enumerate(zip(keys, columns, strict=True)):
        if _is_json(table, name):
            values = [None if v is None else json_text(v) for v in values]
        arrays[f"p{n}"] = list(values)
    return arrays


def _is_json(table: Table, key: str) -> bool:
    return key != "_id" and isinstance(table.c[key].type, JSON)


@cache
def _unnest(table: Table, keys: tuple[str, ...]) -> str:
    """``unnest(…) AS u(…)`` of the keys' arrays, each cast to its column's type (JSON as text)."""
    casts = []
    for n, name in enumerate(keys):
        column = "id" if name == "_id" else name
        kind = "text" if _is_json(table, name) else table.c[column].type.compile(dialect=_PG)
        casts.append(f"CAST(:p{n} AS {kind}[])")
    return f"unnest({', '.join(casts)}) AS u({', '.join(keys)})"


def _value(table: Table, key: str) -> str:
    return f"u.{key}::json" if _is_json(table, key) else f"u.{key}"


@cache
def _update_sql(table: Table, keys: tuple[str, ...]) -> str:
    columns = [k for k in keys if k != "_id"]
    assignments = ", ".join(f"{c} = {_value(table, c)}" for c in columns)
    return f"UPDATE {table.name} AS t SET {assignments} FROM {_unnest(table, keys)} WHERE t.id = u._id"  # noqa: S608


@cache
def _insert_sql(table: Table, keys: tuple[str, ...], key: tuple[str, ...]) -> str:
    values = ", ".join(_value(table, k) for k in keys)
    skip = f" ON CONFLICT ({', '.join(key)}) DO NOTHING" if key else ""
    return f"INSERT INTO {table.name} ({', '.join(keys)}) SELECT {values} FROM {_unnest(table, keys)}{skip}"  # noqa: S608
