"""The :class:`~tracker.ingest.service.IngestStore` over SQLAlchemy Core: SQLite and PostgreSQL alike (API, CSV
import, webhooks on SQLite)."""

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, union_all, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from tracker.ingest.models import receipts_table, revisions_table
from tracker.ingest.service import COMPARED, RESET_ON_NEW_CODE, Account, Found, Plan, Receipt, Valid
from tracker.models import CarrierAccount, events_table, shipments_table

_c = shipments_table.c
_MATCH_COLUMNS = (_c.id, _c.carrier, *(_c[k] for k in COMPARED if k != "carrier"))
_BY_CODE = select(*_MATCH_COLUMNS).where(
    _c.carrier == bindparam("carrier"), _c.tracking_code.in_(bindparam("codes", expanding=True))
)
_BY_EXTERNAL_ID = select(*_MATCH_COLUMNS).where(_c.external_id.in_(bindparam("ext", expanding=True)))
_BY_CODE_OR_EXTERNAL_ID = union_all(_BY_CODE, _BY_EXTERNAL_ID)  # built once: no per-call statement building
_INSERT = insert(shipments_table).returning(_c.id, _c.carrier, _c.tracking_code)
_UPDATE = update(shipments_table).where(_c.id == bindparam("_id"))
_SEEN = select(receipts_table.c.id, receipts_table.c.body_hash, receipts_table.c.response).where(
    receipts_table.c.id.in_(bindparam("ids", expanding=True))
)


class SqlStore:
    """Runs inside the caller's transaction on ``db`` (only Core statements: a plain connection is cheaper)."""

    def __init__(self, db: AsyncSession | AsyncConnection) -> None:
        self.db = db

    async def accounts(self) -> list[Account]:
        query = select(CarrierAccount.id, CarrierAccount.carrier, CarrierAccount.name)
        return [Account(*row) for row in await self.db.execute(query)]

    async def lookup(self, receipt_ids: list[str], items: Sequence[Valid]) -> Found:
        return Found(await self._seen(receipt_ids) if receipt_ids else {}, await self._matching(items))

    async def store(self, plan: Plan, receipts: Callable[[], dict[str, Receipt]], now: datetime) -> None:
        """The plan first: its inserts return the new shipments' ids, which the receipts' responses hold."""
        await self._write(plan, now)
        answers = receipts()
        if answers:
            await self._record(answers, now)

    async def _matching(self, items: Sequence[Valid]) -> list[dict[str, Any]]:
        """Stored shipments any item may match, by (carrier, code) or external_id: index lookups only."""
        by_carrier: dict[str, list[str]] = {}
        for i in items:
            by_carrier.setdefault(i.shipment.carrier, []).append(i.shipment.tracking_code)
        ext = list({i.shipment.external_id for i in items if i.shipment.external_id}) or [""]
        rows: dict[int, dict[str, Any]] = {}
        for n, (carrier, codes) in enumerate(by_carrier.items()):
            query, params = (_BY_CODE_OR_EXTERNAL_ID, {"ext": ext}) if n == 0 else (_BY_CODE, {})
            for row in await self.db.execute(query, {"carrier": carrier, "codes": codes, **params}):
                rows[row.id] = dict(row._mapping)
        return list(rows.values())

    async def _write(self, plan: Plan, now: datetime) -> None:
        if plan.creates:
            rows = [
                {k: r[k] for k in COMPARED}
                | {
                    "carrier": r["carrier"],
                    "created_at": now,
                    "updated_at": now,
                    "status": "pending",
                    "next_poll_at": None if r["held_reason"] else now,  # held: not polled until released
                    "held_reason": r["held_reason"],
                    "requested_account": r["requested_account"],
                    "poll_error_count": 0,
                    "customer_consent": bool(r["customer_consent"]),
                    "items": r["items"] or [],
                }
                for r in plan.creates
            ]
            plan.created({(row.carrier, row.tracking_code): row.id for row in await self.db.execute(_INSERT, rows)})
        if plan.updates:
            updates = []
            for r in plan.updates.values():
                changed = plan.changed[r["id"]]  # only those: a concurrent writer's other changes stay
                row = {"_id": r["id"], "updated_at": now} | {k: r[k] for k in COMPARED if k in changed}
                if r["id"] in plan.new_codes:  # a corrected tracking code: track the new one from scratch
                    row |= RESET_ON_NEW_CODE | {"next_poll_at": now}
                updates.append(row)
            for keys in {tuple(sorted(r)) for r in updates}:  # executemany needs one key set per statement
                await self.db.execute(_UPDATE, [r for r in updates if tuple(sorted(r)) == keys])
            if plan.new_codes:
                await self.db.execute(delete(events_table).where(events_table.c.shipment_id.in_(plan.new_codes)))
        if plan.revisions:
            revisions = [r | {"changes": json.loads(json.dumps(r["changes"], default=str))} for r in plan.revisions]
            await self.db.execute(insert(revisions_table), revisions)

    async def _seen(self, ids: list[str]) -> dict[str, Receipt]:
        """The receipt of each webhook-id already answered."""
        rows = await self.db.execute(_SEEN, {"ids": ids})
        return {row.id: Receipt(row.body_hash, json.dumps(row.response)) for row in rows}

    async def _record(self, receipts: dict[str, Receipt], now: datetime) -> None:
        rows = [
            {"id": i, "received_at": now, "body_hash": r.body_hash, "response": json.loads(r.response)}
            for i, r in receipts.items()
        ]
        await self.db.execute(insert(receipts_table), rows)
