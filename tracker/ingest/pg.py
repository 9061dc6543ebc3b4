"""The upsert store for webhooks on PostgreSQL: asyncpg directly, one fixed SQL text per step.

Each statement is the same text whatever the batch size (arrays through ``unnest`` instead of one
placeholder per value), so asyncpg prepares it once per connection and PostgreSQL plans it once; and
no SQLAlchemy compilation or result processing runs per transaction. The connection comes from the
SQLAlchemy pool (its JSON codec: ``json`` values go in as text and come out decoded).
"""

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import JSON, String
from sqlalchemy.dialects import postgresql

from tracker.ingest.service import COMPARED, RESET_ON_NEW_CODE, Account, Plan, Valid
from tracker.models import shipments_table

LOST = (  # the connection is gone, or its protocol state is (a server's FATAL read while a query starts)
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    asyncpg.exceptions.OperatorInterventionError,
)
RACE = asyncpg.UniqueViolationError
_CREATED = ("carrier", *COMPARED)
_MATCHED = ("id", *_CREATED)


_PG = postgresql.dialect()  # type: ignore[no-untyped-call]


def _type(column: str) -> str:
    kind = shipments_table.c[column].type
    return "text" if isinstance(kind, String | JSON) else kind.compile(dialect=_PG)


def _param(n: int, column: str) -> str:
    """``$n`` cast to what ``column`` takes (json goes in as text)."""
    cast = f"${n}::{_type(column)}"
    return f"{cast}::json" if isinstance(shipments_table.c[column].type, JSON) else cast


def _set(columns: Sequence[str], first: int) -> str:
    return f"({', '.join(columns)}) = ({', '.join(_param(first + i, c) for i, c in enumerate(columns))})"


_cols = ", ".join(f"s.{c}" for c in _MATCHED)
MATCH = (
    f"SELECT {_cols} FROM unnest($1::text[], $2::text[]) AS u(carrier, code) "  # noqa: S608
    "JOIN shipments s ON s.carrier = u.carrier AND s.tracking_code = u.code "
    f"UNION ALL SELECT {_cols} FROM shipments s WHERE s.external_id = ANY($3::text[])"
)
_values = ", ".join(f"u.{c}::json" if c == "items" else f"u.{c}" for c in _CREATED)
_arrays = ", ".join(f"${n}::{_type(c)}[]" for n, c in enumerate(_CREATED, start=2))
_columns = f"{', '.join(_CREATED)}, created_at, updated_at, status, next_poll_at, poll_error_count"
INSERT = (
    f"INSERT INTO shipments ({_columns}) "  # noqa: S608
    f"SELECT {_values}, $1, $1, 'pending', $1, 0 FROM unnest({_arrays}) AS u({', '.join(_CREATED)}) "
    "RETURNING id, carrier, tracking_code"
)
UPDATE = f"UPDATE shipments SET {_set(('updated_at', *COMPARED), 2)} WHERE id = $1"  # noqa: S608
_RESET = (*RESET_ON_NEW_CODE, "next_poll_at")
RESET = f"UPDATE shipments SET {_set(_RESET, 2)} WHERE id = ANY($1::bigint[])"  # noqa: S608
DELETE_EVENTS = "DELETE FROM tracking_events WHERE shipment_id = ANY($1::bigint[])"
REVISION = "INSERT INTO shipment_revisions (shipment_id, changed_at, source, changes) VALUES ($1, $2, $3, $4::json)"
SEEN = "SELECT id, response::text FROM webhook_receipts WHERE id = ANY($1::text[])"
RECORD = (
    "INSERT INTO webhook_receipts (id, received_at, response) "
    "SELECT i, $2, r::json FROM unnest($1::text[], $3::text[]) AS u(i, r)"
)
ACCOUNTS = "SELECT id, carrier, name FROM carrier_accounts"


def plan_once(dbapi_connection: Any, _record: Any) -> None:
    """Connect hook for the webhook's connections: plan each statement once per connection. With array
    parameters PostgreSQL would otherwise re-plan them at every execution (a custom plan always looks
    cheaper), about 0.3 ms each. A plan made once must not hang on statistics, which a young table lacks
    (it would scan the table for good): these statements look rows up by unique keys, so no table scans.
    No JIT either: a disabled scan's cost would trigger it (100 ms of compiling for a two-row table)."""
    cursor = dbapi_connection.cursor()
    cursor.execute("SET plan_cache_mode = force_generic_plan")
    cursor.execute("SET enable_seqscan = off")
    cursor.execute("SET jit = off")
    cursor.close()
    dbapi_connection.commit()  # the driver opened a transaction for them: a rollback would undo them


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, default=str)


class PgStore:
    """Runs inside the caller's transaction on the asyncpg connection ``db``."""

    def __init__(self, db: asyncpg.Connection) -> None:
        self.db = db

    async def warm(self, now: datetime) -> None:
        """Prepare (and plan) the statements on this connection: each run once with no rows."""
        await self.accounts()
        await self.seen([])
        await self.matching([])
        await self.db.fetch(INSERT, now, *([] for _ in _CREATED))
        await self.record([], now)

    async def accounts(self) -> list[Account]:
        return [Account(*row) for row in await self.db.fetch(ACCOUNTS)]

    async def matching(self, items: Sequence[Valid]) -> list[dict[str, Any]]:
        carriers = [i.shipment.carrier for i in items]
        codes = [i.shipment.tracking_code for i in items]
        ext = [i.shipment.external_id for i in items if i.shipment.external_id]
        rows = {row["id"]: dict(row) for row in await self.db.fetch(MATCH, carriers, codes, ext)}
        return list(rows.values())

    async def write(self, plan: Plan, now: datetime) -> None:
        if plan.creates:
            columns = [[r[c] for r in plan.creates] for c in _CREATED]
            columns[_CREATED.index("customer_consent")] = [bool(r["customer_consent"]) for r in plan.creates]
            columns[_CREATED.index("items")] = [json.dumps(r["items"] or []) for r in plan.creates]
            plan.created(
                {(r["carrier"], r["tracking_code"]): r["id"] for r in await self.db.fetch(INSERT, now, *columns)}
            )
        if plan.updates:
            rows = [
                (r["id"], now, *(_json(r[c]) if c == "items" else r[c] for c in COMPARED))
                for r in plan.updates.values()
            ]
            await self.db.executemany(UPDATE, rows)
        if plan.new_codes:  # a corrected tracking code: track the new one from scratch
            await self.db.execute(RESET, list(plan.new_codes), *RESET_ON_NEW_CODE.values(), now)
            await self.db.execute(DELETE_EVENTS, list(plan.new_codes))
        if plan.revisions:
            rows = [(r["shipment_id"], r["changed_at"], r["source"], _json(r["changes"])) for r in plan.revisions]
            await self.db.executemany(REVISION, rows)

    async def seen(self, ids: list[str]) -> dict[str, str]:
        return {row[0]: row[1] for row in await self.db.fetch(SEEN, ids)}

    async def record(self, receipts: list[tuple[str, str]], now: datetime) -> None:
        await self.db.execute(RECORD, [i for i, _ in receipts], now, [body for _, body in receipts])
