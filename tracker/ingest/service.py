"""Upsert shipments, idempotent on (carrier, tracking_code) and on external_id.

One call handles a batch in one transaction: it reads the matching rows once, decides each item in order
(a shipment repeated inside the batch sees the earlier copy), then writes inserts, updates and revisions
in bulk. Omitted or null fields keep their stored value. A unique-key race with a concurrent writer raises
IntegrityError; callers retry the whole transaction (:func:`with_retry`), which then sees the other
writer's rows.
"""

import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import bindparam, delete, insert, select, union_all, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from tracker.ingest.models import revisions_table
from tracker.ingest.schemas import FieldError, ItemResult, ShipmentIn
from tracker.models import CarrierAccount, events_table, shipments_table

T = TypeVar("T")
COMPARED = (
    "external_id",
    "carrier_account_id",
    "tracking_code",
    "service",
    "order_number",
    "invoice_key",
    "shipped_at",
    "promised_delivery_date",
    "declared_value",
    "shipping_cost",
    "customer_name",
    "customer_email",
    "customer_phone",
    "customer_consent",
    "destination_postal_code",
    "destination_city",
    "destination_state",
    "items",
)
RESET_ON_NEW_CODE = {
    "status": "pending",
    "status_reason": None,
    "status_changed_at": None,
    "last_event_at": None,
    "carrier_expected_delivery": None,
    "delivered_at": None,
    "poll_error": None,
    "poll_error_count": 0,
    "poll_stopped": None,
    "events_digest": None,
}


@dataclass(frozen=True, slots=True)
class Valid:
    """A shipment that passed validation, with its position in the request and any warnings."""

    index: int
    shipment: ShipmentIn
    warnings: list[str] = field(default_factory=list)
    source: str | None = None  # where it came from, for the revision log; default: the batch's source


def valid(index: int, shipment: ShipmentIn, source: str | None = None) -> Valid:
    warnings = [f"unknown field {name!r} ignored" for name in shipment.unknown_fields()]
    return Valid(index, shipment, warnings, source)


Db = AsyncSession | AsyncConnection  # only Core statements run here: a plain connection is cheaper


async def load_accounts(db: Db) -> list[Any]:
    """(id, carrier, name) of every carrier account: what upserts assign shipments to."""
    return list((await db.execute(select(CarrierAccount.id, CarrierAccount.carrier, CarrierAccount.name))).all())


async def upsert(
    session: Db, items: Sequence[Valid], *, source: str, now: datetime, accounts: list[Any] | None = None
) -> list[ItemResult]:
    """Create or update ``items``; one result per item, in order."""
    if not items:
        return []
    if accounts is None:
        accounts = await load_accounts(session)
    current = await _matching(session, items)
    by_ext = {row["external_id"]: row for row in current if row["external_id"]}
    by_pair = {(row["carrier"], row["tracking_code"]): row for row in current}
    results: list[ItemResult] = []
    creates: list[dict[str, Any]] = []
    updates: dict[int, dict[str, Any]] = {}
    revisions: list[dict[str, Any]] = []
    new_codes: set[int] = set()

    for item in items:
        s = item.shipment
        result = ItemResult(
            index=item.index,
            result="rejected",
            external_id=s.external_id,
            tracking_code=s.tracking_code,
            warnings=item.warnings,
        )
        results.append(result)
        account_id, error = _account(accounts, s)
        if error:
            result.errors.append(error)
            continue
        wanted = s.columns() | {"carrier_account_id": account_id}
        target, error = _identify(s, by_ext, by_pair)
        if error:
            result.errors.append(error)
            continue
        if target is None:
            row = {k: wanted[k] for k in COMPARED} | {"id": None, "carrier": s.carrier, "_results": [result]}
            creates.append(row)
            result.result = "created"
            _remember(row, by_ext, by_pair)
            continue
        changes = {k: [target[k], v] for k, v in wanted.items() if k in COMPARED and v is not None and v != target[k]}
        if target["id"] is None:  # created earlier in this batch: gets its id after the insert
            target["_results"].append(result)
        if not changes:
            result.result, result.id = "unchanged", target["id"]
            continue
        if "tracking_code" in changes and target["id"] is not None:
            new_codes.add(target["id"])
        target.update({k: new for k, (_, new) in changes.items()})
        _remember(target, by_ext, by_pair)
        result.result, result.id, result.changed = "updated", target["id"], sorted(changes)
        if target["id"] is None:  # the pending insert carries the final values
            continue
        updates[target["id"]] = target
        revisions.append(
            {
                "shipment_id": target["id"],
                "changed_at": now,
                "source": item.source or source,
                "changes": _jsonable(changes),
            }
        )

    await _write(session, creates, list(updates.values()), revisions, new_codes, now)
    return results


def _identify(
    s: ShipmentIn, by_ext: dict[Any, dict[str, Any]], by_pair: dict[Any, dict[str, Any]]
) -> tuple[dict[str, Any] | None, FieldError | None]:
    """The stored (or earlier in this batch) shipment ``s`` is, if any; an error when its two identities
    (external_id and carrier + tracking code) point at different shipments."""
    by_id = by_ext.get(s.external_id) if s.external_id else None
    by_code = by_pair.get((s.carrier, s.tracking_code))
    if by_id is not None and by_code is not None and by_id is not by_code:
        message = (
            f"{s.carrier} {s.tracking_code} already belongs to another shipment "
            f"(external_id {by_code['external_id']!r}); a tracking code identifies one shipment"
        )
        return None, FieldError(field="tracking_code", message=message)
    target = by_id or by_code
    if target is not None and s.external_id and target["external_id"] not in (None, s.external_id):
        message = (
            f"{s.carrier} {s.tracking_code} is already tracked for external_id {target['external_id']!r}, "
            f"not {s.external_id!r}"
        )
        return None, FieldError(field="external_id", message=message)
    return target, None


def _account(accounts: list[Any], s: ShipmentIn) -> tuple[int | None, FieldError | None]:
    mine = [a for a in accounts if a.carrier == s.carrier]
    if s.carrier_account:
        named = [a for a in mine if a.name == s.carrier_account]
        if not named:
            known = ", ".join(a.name for a in mine) or "none"
            return None, FieldError(
                field="carrier_account", message=(f"no {s.carrier} account named {s.carrier_account!r}; known: {known}")
            )
        return named[0].id, None
    if not mine:
        return None, FieldError(
            field="carrier",
            message=(f"no {s.carrier} account is configured: add one with `zelo accounts add {s.carrier} ...`"),
        )
    return min(a.id for a in mine), None


_c = shipments_table.c
_MATCH_COLUMNS = (_c.id, _c.carrier, *(_c[k] for k in COMPARED if k != "carrier"))
_BY_CODE = select(*_MATCH_COLUMNS).where(
    _c.carrier == bindparam("carrier"), _c.tracking_code.in_(bindparam("codes", expanding=True))
)
_BY_EXTERNAL_ID = select(*_MATCH_COLUMNS).where(_c.external_id.in_(bindparam("ext", expanding=True)))
_BY_CODE_OR_EXTERNAL_ID = union_all(_BY_CODE, _BY_EXTERNAL_ID)  # built once: no per-call statement building
_INSERT = insert(shipments_table).returning(_c.id, _c.carrier, _c.tracking_code)
_UPDATE = update(shipments_table).where(_c.id == bindparam("_id"))


async def _matching(session: Db, items: Sequence[Valid]) -> list[dict[str, Any]]:
    """Stored shipments any item may match, by (carrier, code) or external_id: index lookups only."""
    by_carrier: dict[str, list[str]] = {}
    for i in items:
        by_carrier.setdefault(i.shipment.carrier, []).append(i.shipment.tracking_code)
    ext = list({i.shipment.external_id for i in items if i.shipment.external_id}) or [""]
    rows: dict[int, dict[str, Any]] = {}
    for n, (carrier, codes) in enumerate(by_carrier.items()):
        query, params = (_BY_CODE_OR_EXTERNAL_ID, {"ext": ext}) if n == 0 else (_BY_CODE, {})
        for row in await session.execute(query, {"carrier": carrier, "codes": codes, **params}):
            rows[row.id] = dict(row._mapping)
    return list(rows.values())


def _remember(row: dict[str, Any], by_ext: dict[Any, dict[str, Any]], by_pair: dict[Any, dict[str, Any]]) -> None:
    if row["external_id"]:
        by_ext[row["external_id"]] = row
    by_pair[(row["carrier"], row["tracking_code"])] = row


async def _write(
    session: Db,
    creates: list[dict[str, Any]],
    updates: list[dict[str, Any]],
    revisions: list[dict[str, Any]],
    new_codes: set[int],
    now: datetime,
) -> None:
    if creates:
        rows = [
            {k: r[k] for k in COMPARED}
            | {
                "carrier": r["carrier"],
                "created_at": now,
                "updated_at": now,
                "status": "pending",
                "next_poll_at": now,
                "poll_error_count": 0,
                "customer_consent": bool(r["customer_consent"]),
                "items": r["items"] or [],
            }
            for r in creates
        ]
        ids = {(row.carrier, row.tracking_code): row.id for row in await session.execute(_INSERT, rows)}
        for r in creates:
            r["id"] = ids[(r["carrier"], r["tracking_code"])]
            for result in r["_results"]:
                result.id = r["id"]
    if updates:
        rows = []
        for r in updates:
            row = {"_id": r["id"], "updated_at": now} | {k: r[k] for k in COMPARED}
            if r["id"] in new_codes:  # a corrected tracking code: track the new one from scratch
                row |= RESET_ON_NEW_CODE | {"next_poll_at": now}
            rows.append(row)
        for keys in {tuple(sorted(r)) for r in rows}:  # executemany needs one key set per statement
            group = [r for r in rows if tuple(sorted(r)) == keys]
            await session.execute(_UPDATE, group)
        if new_codes:
            await session.execute(delete(events_table).where(events_table.c.shipment_id.in_(new_codes)))
    if revisions:
        await session.execute(insert(revisions_table), revisions)


def _jsonable(changes: dict[str, list[Any]]) -> dict[str, Any]:
    plain: dict[str, Any] = json.loads(json.dumps(changes, default=str))
    return plain


async def with_retry(sessions: async_sessionmaker[AsyncSession], work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run ``work`` in a transaction; on a unique-key race with another writer, run it again (3 tries)."""
    for attempt in range(3):
        try:
            async with sessions() as session, session.begin():
                return await work(session)
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")  # pragma: no cover
