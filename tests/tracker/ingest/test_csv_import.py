"""``zelo import``: the same checks as the webhook, a per-line report, idempotent re-imports."""

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from carriers.correios.s10 import make_code
from tracker.clock import SimulatedClock
from tracker.ingest.csv_import import import_csv, row_to_shipment
from tracker.models import Shipment

HEADER = "external_id,carrier,tracking_code,customer_email,customer_consent,destination_state,items,declared_value\n"


def write(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "envios.csv"
    path.write_text(HEADER + "".join(lines), encoding="utf-8")
    return path


def test_rows_map_to_the_webhook_shape() -> None:
    row = {
        "external_id": "P1",
        "customer_email": "a@b.co",
        "customer_consent": "sim",
        "destination_state": "sp",
        "items": "A1:2:Caneca|B2:1",
        "declared_value": "",
        "extra": " x ",
    }
    assert row_to_shipment(row) == {
        "external_id": "P1",
        "customer": {"email": "a@b.co", "consent": True},
        "destination": {"state": "sp"},
        "items": [{"sku": "A1", "quantity": 2, "description": "Caneca"}, {"sku": "B2", "quantity": 1}],
        "extra": "x",
    }


async def test_import_reports_bad_lines_and_reimport_is_idempotent(
    tmp_path: Path, sessions: async_sessionmaker[AsyncSession], clock: SimulatedClock, account_id: int
) -> None:
    path = write(
        tmp_path,
        f"P1,correios,{make_code('SS', 1)},maria@example.com,1,SP,A1:2,10.50\n",
        f"P2,correios,{make_code('SS', 2)},not-an-email,0,SP,,\n",
        f"P3,correios,{make_code('SS', 3)},,,XX,,1.999\n",
        f"P4,correios,{make_code('SS', 4)},,,,,\n",
        f"P5,correios,{make_code('SS', 5)},,,,A1:dois,\n",
    )
    progress: list[int] = []
    first = await import_csv(sessions, clock, path, progress.append)
    assert first.counts == {"created": 2, "updated": 0, "unchanged": 0, "rejected": 3}
    assert sum(progress) == 5
    assert [(r.index, [e.field for e in r.errors]) for r in first.rejected] == [
        (3, ["customer.email"]),
        (4, ["declared_value", "destination.state"]),
        (6, ["items.0.quantity"]),
    ]
    again = await import_csv(sessions, clock, path, progress.append)
    assert again.counts == {"created": 0, "updated": 0, "unchanged": 2, "rejected": 3}
    async with sessions() as session:
        rows = (await session.scalars(select(Shipment).order_by(Shipment.id))).all()
    assert [(r.external_id, r.customer_consent, r.items) for r in rows] == [
        ("P1", True, [{"sku": "A1", "quantity": 2}]),
        ("P4", False, []),
    ]
