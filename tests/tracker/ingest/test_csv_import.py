"""``zelo import``: the same checks as the webhook, a per-line report, idempotent re-imports."""

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from carriers.correios.s10 import make_code
from tracker.clock import SimulatedClock
from tracker.ingest.csv_import import Sheet, import_csv, row_to_shipment, sniff
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
    assert first.counts == {"created": 3, "updated": 0, "unchanged": 0, "rejected": 2}
    assert sum(progress) == 5
    assert [(r.index, [e.field for e in r.errors]) for r in first.rejected] == [
        (4, ["declared_value", "destination.state"]),
        (6, ["items.0.quantity"]),
    ]
    [(line, [warning])] = [(r.index, r.warnings) for r in first.warned]  # stored without the e-mail, and said so
    assert line == 3 and warning.startswith("customer.email not stored (the shipment is tracked without it)")
    again = await import_csv(sessions, clock, path, progress.append)
    assert again.counts == {"created": 0, "updated": 0, "unchanged": 3, "rejected": 2}
    async with sessions() as session:
        rows = (await session.scalars(select(Shipment).order_by(Shipment.id))).all()
    assert [(r.external_id, r.customer_consent, r.customer_email, r.items) for r in rows] == [
        ("P1", True, "maria@example.com", [{"sku": "A1", "quantity": 2}]),
        ("P2", False, None, []),
        ("P4", False, None, []),
    ]


PT_BR = (  # as a pt-BR spreadsheet saves it: ';', decimal commas, dd/mm/aaaa, Windows-1252
    "external_id;carrier;tracking_code;declared_value;shipping_cost;shipped_at;promised_delivery_date;"
    "destination_city;destination_state;observação;customer_emial\r\n"
    f"P1;correios;{make_code('SS', 1)};1.234,56;12,5;30/11/2026 14:30;05/12/2026;São Paulo;AC;frágil;\r\n"
    f"P2;correios;{make_code('SS', 2)};99,90;0;30/11/2026;31/02/2026;Rio Branco;AC;;\r\n"
)


@pytest.mark.parametrize("encoding", ["cp1252", "utf-8-sig", "utf-8"])
async def test_a_pt_br_spreadsheet_file_is_read_as_written(
    tmp_path: Path, sessions: async_sessionmaker[AsyncSession], clock: SimulatedClock, account_id: int, encoding: str
) -> None:
    path = tmp_path / "envios.csv"
    path.write_bytes(PT_BR.encode(encoding))
    assert sniff(path) == Sheet("cp1252" if encoding == "cp1252" else "utf-8-sig", ";", decimal_comma=True)
    report = await import_csv(sessions, clock, path, lambda _: None)
    assert report.counts["created"] == 1
    [rejected] = report.rejected  # 31/02 is no date: said as the webhook says it
    [error] = rejected.errors
    assert (rejected.index, error.field) == (3, "promised_delivery_date")
    assert error.message.startswith("promised_delivery_date '31/02/2026' is not a date: expected")
    [header] = report.warned  # unknown columns, reported once, not on every line
    assert header.index == 1 and header.warnings == [
        "unknown column 'observação' ignored: the columns are the webhook's fields (see the README)",
        "unknown column 'customer_emial' ignored: did you mean 'customer_email'?",
    ]
    async with sessions() as session:
        row = (await session.scalars(select(Shipment))).one()
    assert (row.declared_value, row.shipping_cost, row.destination_city) == (
        Decimal("1234.56"),
        Decimal("12.50"),
        "São Paulo",
    )
    assert (row.shipped_at, row.promised_delivery_date) == (
        datetime(2026, 11, 30, 19, 30, tzinfo=UTC),
        date(2026, 12, 5),
    )


def test_amounts_and_dates_as_pt_br_writes_them() -> None:
    row = {"declared_value": "12,50", "shipping_cost": "1.500", "shipped_at": "30/11/2026", "destination_state": "SP"}
    assert row_to_shipment(row) == {  # a comma-separated file: 1.500 is one and a half
        "declared_value": "12.50",
        "shipping_cost": "1.500",
        "shipped_at": "2026-11-30",
        "destination": {"state": "SP"},
    }
    assert row_to_shipment(row, decimal_comma=True)["shipping_cost"] == "1500"
    assert row_to_shipment({"shipped_at": "30/11/2026 08:05:09", "destination_state": "am"}) == {
        "shipped_at": "2026-11-30T08:05:09-04:00",
        "destination": {"state": "am"},
    }


async def test_cells_past_the_header_are_ignored_with_a_warning(
    tmp_path: Path, sessions: async_sessionmaker[AsyncSession], clock: SimulatedClock, account_id: int
) -> None:
    path = write(tmp_path, f"P1,correios,{make_code('SS', 1)},,,,,,x,y\n")  # was a crash
    report = await import_csv(sessions, clock, path, lambda _: None)
    assert report.counts["created"] == 1
    assert [r.warnings for r in report.warned] == [["2 cells past the header's 8 columns ignored"]]
