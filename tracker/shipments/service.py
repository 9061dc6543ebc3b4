"""Registering shipments to track as they are (the demo, benchmarks, tests); the ERP's door (``tracker.ingest``)
validates and upserts them."""

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tracker.db import insert_skipping_duplicates
from tracker.models import Shipment, shipments_table


@dataclass(frozen=True, slots=True)
class NewShipment:
    carrier: str
    carrier_account_id: int
    tracking_code: str
    external_id: str | None = None
    service: str | None = None
    order_number: str | None = None
    shipped_at: datetime | None = None
    promised_delivery_date: date | None = None
    declared_value: Decimal | None = None
    shipping_cost: Decimal | None = None  # the postage the store paid (a claim's refund is reckoned on it)
    destination_state: str | None = None
    customer_name: str | None = None
    customer_email: str | None = None
    customer_phone: str | None = None  # E.164
    customer_consent: bool = False  # to be messaged on WhatsApp (LGPD), as the ERP collected it


async def register(session: AsyncSession, items: Sequence[NewShipment], now: datetime) -> int:
    """Insert shipments to track from now on; a (carrier, tracking code) already known is left alone."""
    if not items:
        return 0
    rows = [
        asdict(item)
        | {
            "created_at": now,
            "updated_at": now,
            "next_poll_at": now,
            "status": "pending",
            "poll_error_count": 0,
        }
        for item in items
    ]
    stmt = insert_skipping_duplicates(session, shipments_table, ["carrier", "tracking_code"])
    total = 0
    for start in range(0, len(rows), 1000):
        result = await session.execute(stmt, rows[start : start + 1000])
        total += max(result.rowcount, 0)  # type: ignore[attr-defined]
    return total


async def count_by_status(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(select(Shipment.status, func.count()).group_by(Shipment.status))
    return {status: n for status, n in rows}


async def find_shipment(session: AsyncSession, ref: str) -> Shipment | None:
    """The shipment ``ref`` names, as ops type it: its id, else its tracking code (any case), else its external
    id. A tracking code two carriers share is a :class:`LookupError` naming their ids."""
    ref = ref.strip()
    digits = ref.isascii() and ref.isdigit() and len(ref) < 19
    if digits and (by_id := await session.get(Shipment, int(ref))) is not None:
        return by_id
    by_code = list(await session.scalars(select(Shipment).where(Shipment.tracking_code == ref.upper()).limit(5)))
    if len(by_code) > 1:
        ids = ", ".join(str(s.id) for s in by_code)
        raise LookupError(f"tracking code {ref!r} names several shipments (ids {ids}); give the id")
    if by_code:
        return by_code[0]
    return await session.scalar(select(Shipment).where(Shipment.external_id == ref))
