"""The :class:`~tracker.ingest.service.IngestStore` for webhooks on PostgreSQL: asyncpg directly, one fixed
SQL text per step.

Each statement is the same text whatever the batch size (arrays through ``unnest`` instead of one
placeholder per value), so asyncpg prepares it once per connection and PostgreSQL plans it once; and
no SQLAlchemy compilation or result processing runs per transaction. The connection comes from the
SQLAlchemy pool (its JSON codec: ``json`` values go in as text and come out decoded).

A group of webhooks takes two round trips when it only creates shipments (the usual case): one
:data:`LOOKUP` (the webhook-ids already answered, with the hash of the body each was answered for, the stored
shipments the items may be, and ids for the new ones, drawn from the table's sequence) and one :data:`STORE`
statement that inserts the shipments and the receipts together, atomically and durably (it commits on its
own). Updates also need ``UPDATE``/revision statements, so they run in an explicit transaction with the same
:data:`STORE`.
The lookup runs outside that transaction, as each statement of a READ COMMITTED transaction would see
newer rows anyway; a concurrent writer's row still surfaces as a unique violation, and the caller
retries the whole group.
"""

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from pydantic_core import to_json
from sqlalchemy import JSON, String
from sqlalchemy.dialects import postgresql

from tracker.ingest.service import COMPARED, RESET_ON_NEW_CODE, Account, Found, Plan, Receipt, Valid
from tracker.models import shipments_table

LOST = (  # the connection is gone, or its protocol state is (a server's FATAL read while a query starts)
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    asyncpg.exceptions.OperatorInterventionError,
)
RACE = (asyncpg.UniqueViolationError, asyncpg.DeadlockDetectedError)  # another writer won: run the group again
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
_none = ", ".join("NULL" for _ in _MATCHED[1:])
_receipt = ", ".join(("r.response::text", "r.body_hash", *("NULL" for _ in _MATCHED[3:])))  # in text columns' places
FOUND, SEEN_ID, NEW_ID = 0, 1, 2  # LOOKUP's row kinds
LOOKUP = (
    f"SELECT 0 AS kind, NULL::text AS receipt, {_cols} FROM unnest($1::text[], $2::text[]) AS u(carrier, code) "  # noqa: S608
    "JOIN shipments s ON s.carrier = u.carrier AND s.tracking_code = u.code "
    f"UNION ALL SELECT 0, NULL, {_cols} FROM shipments s WHERE s.external_id = ANY($3::text[]) "
    f"UNION ALL SELECT 1, r.id, NULL, {_receipt} "
    "FROM webhook_receipts r WHERE r.id = ANY($4::text[]) "
    f"UNION ALL SELECT 2, NULL, nextval(pg_get_serial_sequence('shipments', 'id')), {_none} "
    "FROM generate_series(1, $5::int)"
)
_NEW = ("id", *_CREATED, "held_reason", "requested_account")
_row = itemgetter(*_NEW)  # a row's values in _NEW's order: zip turns the rows into STORE's arrays, in C
_CONSENT, _ITEMS = _NEW.index("customer_consent"), _NEW.index("items")
_values = ", ".join(f"u.{c}::json" if c == "items" else f"u.{c}" for c in _NEW)
_arrays = ", ".join(f"${n}::{'bigint' if c == 'id' else _type(c)}[]" for n, c in enumerate(_NEW, start=5))
_columns = f"{', '.join(_NEW)}, created_at, updated_at, status, next_poll_at, poll_error_count"
STORE = (
    f"WITH new AS (INSERT INTO shipments ({_columns}) "  # noqa: S608
    f"SELECT {_values}, $1, $1, 'pending', CASE WHEN u.held_reason IS NULL THEN $1::timestamptz END, 0 "  # held: not
    f"FROM unnest({_arrays}) AS u({', '.join(_NEW)})) "  # polled until released
    "INSERT INTO webhook_receipts (id, received_at, body_hash, response) "
    "SELECT i, $1, h, r::json FROM unnest($2::text[], $3::text[], $4::text[]) AS u(i, h, r)"
)
_keep = ", ".join(f"{c} = coalesce({_param(n, c)}, {c})" for n, c in enumerate(COMPARED, start=3))
UPDATE = f"UPDATE shipments SET updated_at = $2, {_keep} WHERE id = $1"  # noqa: S608  # null: keep the stored value
_RESET = (*RESET_ON_NEW_CODE, "next_poll_at")
RESET = f"UPDATE shipments SET {_set(_RESET, 2)} WHERE id = ANY($1::bigint[])"  # noqa: S608
DELETE_EVENTS = "DELETE FROM tracking_events WHERE shipment_id = ANY($1::bigint[])"
REVISION = "INSERT INTO shipment_revisions (shipment_id, changed_at, source, changes) VALUES ($1, $2, $3, $4::json)"
ACCOUNTS = "SELECT id, carrier, name FROM carrier_accounts"


def plan_once(dbapi_connection: Any, _record: Any) -> None:
    """Connect hook for the webhook's connections: plan each statement once per connection. With array
    parameters PostgreSQL would otherwise re-plan them at every execution (a custom plan always looks
    cheaper), and every group would pay for that planning. A plan made once must not hang on statistics,
    which a young table lacks (it would scan the table for good): these statements look rows up by unique
    keys, so no table scans. No JIT either: a disabled scan's cost would trigger it, and compiling takes far
    longer than running these statements on a small table."""
    cursor = dbapi_connection.cursor()
    cursor.execute("SET plan_cache_mode = force_generic_plan")
    cursor.execute("SET enable_seqscan = off")
    cursor.execute("SET jit = off")
    cursor.close()
    dbapi_connection.commit()  # the driver opened a transaction for them: a rollback would undo them


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, default=str)


def _changed(row: dict[str, Any], column: str, changed: set[str]) -> Any:
    """The new value of a changed column; None (keep the stored one) for the others."""
    if column not in changed:
        return None
    return _json(row[column]) if column == "items" else row[column]


class PgStore:
    """Runs on the asyncpg connection ``db``, outside any transaction: :meth:`store` opens one if needed.
    Serves one group: the ids its :meth:`lookup` draws are those :meth:`store` gives the new shipments."""

    def __init__(self, db: asyncpg.Connection) -> None:
        self.db = db
        self._new_ids: list[int] = []

    async def warm(self) -> None:
        """Prepare (and plan) the statements on this connection: each run once with no rows."""
        await self.accounts()
        await self.lookup([], [])
        await self.db.execute(STORE, datetime.now(UTC), [], [], [], *([] for _ in _NEW))

    async def accounts(self) -> list[Account]:
        return [Account(*row) for row in await self.db.fetch(ACCOUNTS)]

    async def lookup(self, receipt_ids: list[str], items: Sequence[Valid]) -> Found:
        """One round trip, which also draws a fresh shipment id for each item (more than the new ones need:
        the spare ones are gaps in the sequence)."""
        carriers = [i.shipment.carrier for i in items]
        codes = [i.shipment.tracking_code for i in items]
        ext = [i.shipment.external_id for i in items if i.shipment.external_id]
        seen: dict[str, Receipt] = {}
        found: dict[int, dict[str, Any]] = {}
        self._new_ids = []
        for row in await self.db.fetch(LOOKUP, carriers, codes, ext, receipt_ids, len(items)):
            kind = row[0]
            if kind == FOUND:
                found[row[2]] = dict(zip(_MATCHED, row[2:], strict=True))
            elif kind == SEEN_ID:
                seen[row[1]] = Receipt(body_hash=row[4], response=row[3])
            else:
                self._new_ids.append(row[2])
        return Found(seen, list(found.values()))

    async def store(self, plan: Plan, receipts: Callable[[], dict[str, Receipt]], now: datetime) -> None:
        """One self-committing statement when there are only new rows (the usual case), else a transaction."""
        plan.numbered(self._new_ids)
        answered = list(receipts().items())
        hashes, responses = [r.body_hash for _, r in answered], [r.response for _, r in answered]
        rows = plan.creates
        columns: list[Any] = list(zip(*map(_row, rows), strict=True)) if rows else [() for _ in _NEW]
        columns[_CONSENT] = [bool(consent) for consent in columns[_CONSENT]]
        columns[_ITEMS] = [to_json(items or []).decode() for items in columns[_ITEMS]]
        # A column that is null in every row (an optional field no shipment has) goes as a null array, which
        # unnest pads with nulls as it does any shorter array: asyncpg then neither checks nor encodes its
        # elements, one by one. The ids always go: they make the rows.
        n = len(rows)
        columns[1:] = [None if column.count(None) == n else column for column in columns[1:]]
        store = (STORE, now, [i for i, _ in answered], hashes, responses, *columns)
        if not (plan.updates or plan.new_codes or plan.revisions):
            await self.db.execute(*store)
            return
        async with self.db.transaction():
            await self.db.execute(*store)
            if plan.updates:
                updates = [  # only the columns that changed: a concurrent writer's other changes stay
                    (r["id"], now, *(_changed(r, c, plan.changed[r["id"]]) for c in COMPARED))
                    for r in sorted(plan.updates.values(), key=lambda r: r["id"])  # one lock order for all
                ]
                await self.db.executemany(UPDATE, updates)
            if plan.new_codes:  # a corrected tracking code: track the new one from scratch
                await self.db.execute(RESET, list(plan.new_codes), *RESET_ON_NEW_CODE.values(), now)
                await self.db.execute(DELETE_EVENTS, list(plan.new_codes))
            if plan.revisions:
                revisions = [
                    (r["shipment_id"], r["changed_at"], r["source"], _json(r["changes"])) for r in plan.revisions
                ]
                await self.db.executemany(REVISION, revisions)
