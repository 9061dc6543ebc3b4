"""``zelo import FILE.csv``: the same validation and upsert as the webhook, a chunk per transaction.

Columns are the webhook's fields with ``customer_`` and ``destination_`` prefixes for the nested ones;
``items`` is ``SKU:quantity:description`` entries separated by ``|`` (a quantity that is not digits is kept as
text, which the schema's integer check rejects, naming it). Empty cells count as absent.
"""

import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tracker.clock import Clock
from tracker.ingest.schemas import ItemResult, parse_item
from tracker.ingest.service import Valid, upsert, valid, with_retry
from tracker.ingest.sql import SqlStore

CHUNK = 500
NESTED = ("customer_", "destination_")


@dataclass
class ImportReport:
    counts: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(("created", "updated", "unchanged", "rejected"), 0)
    )
    rejected: list[ItemResult] = field(default_factory=list)  # ``index`` is the CSV line number

    def add(self, results: list[ItemResult]) -> None:
        for r in results:
            self.counts[r.result] += 1
            if r.result == "rejected":
                self.rejected.append(r)


def row_to_shipment(row: dict[str, str | None]) -> dict[str, Any]:
    shipment: dict[str, Any] = {}
    for column, cell in row.items():
        value = (cell or "").strip()
        if not value or column is None:
            continue
        prefix = next((p for p in NESTED if column.startswith(p)), None)
        if prefix:
            shipment.setdefault(prefix.rstrip("_"), {})[column.removeprefix(prefix)] = value
        elif column == "items":
            shipment["items"] = [_item(entry) for entry in value.split("|") if entry.strip()]
        else:
            shipment[column] = value
    consent = shipment.get("customer", {}).get("consent")
    if consent is not None:
        shipment["customer"]["consent"] = consent.lower() in ("1", "true", "sim", "yes", "y", "s")
    return shipment


def _item(entry: str) -> dict[str, Any]:
    sku, _, rest = entry.strip().partition(":")
    quantity, _, description = rest.partition(":")
    count: int | str = int(quantity) if quantity.isascii() and quantity.isdigit() else quantity or 1
    return {"sku": sku, "quantity": count, **({"description": description} if description else {})}


def read_chunks(path: Path) -> Iterator[tuple[list[Valid], list[ItemResult]]]:
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        accepted: list[Valid] = []
        rejected: list[ItemResult] = []
        for row in reader:
            line = reader.line_num
            shipment, failure = parse_item(line, row_to_shipment(row))
            if shipment is not None:
                accepted.append(valid(line, shipment))
            elif failure is not None:
                rejected.append(failure)
            if len(accepted) + len(rejected) >= CHUNK:
                yield accepted, rejected
                accepted, rejected = [], []
        if accepted or rejected:
            yield accepted, rejected


async def import_csv(
    sessions: async_sessionmaker[AsyncSession], clock: Clock, path: Path, progress: Callable[[int], None]
) -> ImportReport:
    report = ImportReport()
    source = f"csv:{path.name}"
    for accepted, rejected in read_chunks(path):

        async def work(session: AsyncSession, items: list[Valid] = accepted) -> list[ItemResult]:
            return await upsert(SqlStore(session), items, source=source, now=clock.now())

        report.add(await with_retry(sessions, work) + rejected)
        progress(len(accepted) + len(rejected))
    report.rejected.sort(key=lambda r: r.index)
    return report
