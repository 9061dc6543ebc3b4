"""``zelo import FILE.csv``: the same validation and upsert as the webhook, a chunk per transaction.

Columns are the webhook's fields with ``customer_``, ``destination_`` and ``origin_`` prefixes for the nested ones;
``items`` is ``SKU:quantity:description`` entries separated by ``|`` (a quantity that is not digits is kept as
text, which the schema's integer check rejects, naming it); a ``category`` column is the product category of the
row's items. Empty cells count as absent; a column nobody knows is
ignored and reported once (as the webhook reports an unknown field).

The file may be written as a pt-BR spreadsheet writes it (:func:`sniff`): UTF-8 (with or without a BOM) or, failing
that, Windows-1252 (Latin-1); cells separated by ``,``, ``;`` or tabs (whichever the header line has most of);
amounts with a decimal comma (``12,50``, ``1.234,56``: always in a ``;``-separated file, and a lone comma with one or
two decimals in any); dates as ``dd/mm/aaaa``, and ``shipped_at`` as ``dd/mm/aaaa hh:mm[:ss]`` too, a local time in
the destination's time zone.
"""

import codecs
import csv
import difflib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tracker.calendar import timezone_of
from tracker.clock import Clock
from tracker.ingest.schemas import CustomerIn, DestinationIn, ItemResult, OriginIn, ShipmentIn, parse_item
from tracker.ingest.service import Valid, upsert, valid, with_retry
from tracker.ingest.sql import SqlStore

CHUNK = 500
NESTED = ("customer_", "destination_", "origin_")
KNOWN = frozenset(
    [n for n in ShipmentIn.model_fields if n not in ("customer", "destination", "origin")]
    + [f"customer_{n}" for n in CustomerIn.model_fields]
    + [f"destination_{n}" for n in DestinationIn.model_fields]
    + [f"origin_{n}" for n in OriginIn.model_fields]
    + ["category"]  # the product category of the row's items (those whose entry names none)
)
MONEY = ("declared_value", "shipping_cost")
_BR_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?")
_COMMA_AMOUNT = re.compile(r"-?(?:\d{1,3}(?:\.\d{3})+|\d+)(?:,\d+)?")  # 1.234,56 or 12,5 or 1234
_LONE_COMMA = re.compile(r"-?\d+,\d{1,2}")  # 12,50: a decimal comma in any file


@dataclass(frozen=True)
class Sheet:
    """How a CSV file is written."""

    encoding: str  # utf-8-sig or cp1252
    delimiter: str
    decimal_comma: bool


@dataclass
class ImportReport:
    counts: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(("created", "updated", "unchanged", "rejected"), 0)
    )
    rejected: list[ItemResult] = field(default_factory=list)  # ``index`` is the CSV line number
    warned: list[ItemResult] = field(default_factory=list)  # stored, with warnings; line 1: the header's
    sheet: Sheet | None = None  # as :func:`sniff` read the file

    def add(self, results: list[ItemResult]) -> None:
        for r in results:
            self.counts[r.result] += 1
            if r.result == "rejected":
                self.rejected.append(r)
            elif r.warnings:
                self.warned.append(r)


def sniff(path: Path) -> Sheet:
    """The file's encoding, delimiter and decimal mark (see the module's text)."""
    encoding = "utf-8-sig"
    decoder = codecs.getincrementaldecoder("utf-8")()
    with path.open("rb") as f:
        try:
            for block in iter(lambda: f.read(1 << 16), b""):
                decoder.decode(block)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            encoding = "cp1252"
    with path.open(encoding=encoding, errors="replace", newline="") as f:
        header = f.readline()
    delimiter = max((",", ";", "\t"), key=header.count) if any(d in header for d in ",;\t") else ","
    return Sheet(encoding, delimiter, decimal_comma=delimiter == ";")


def row_to_shipment(row: dict[str | None, Any], decimal_comma: bool = False) -> dict[str, Any]:
    shipment: dict[str, Any] = {}
    for column, cell in row.items():
        if column is None or not isinstance(cell, str):  # cells past the header's columns: reported by the reader
            continue
        value = cell.strip()
        if not value:
            continue
        if column in MONEY:
            value = _amount(value, decimal_comma)
        elif column in ("shipped_at", "promised_delivery_date"):
            value = _date(value, column, row.get("destination_state"))
        prefix = next((p for p in NESTED if column.startswith(p)), None)
        if prefix:
            shipment.setdefault(prefix.rstrip("_"), {})[column.removeprefix(prefix)] = value
        elif column == "items":
            shipment["items"] = [_item(entry) for entry in value.split("|") if entry.strip()]
        else:
            shipment[column] = value
    category = shipment.pop("category", None)
    if category is not None:
        if "items" not in shipment:  # reported, as an unknown field is: a category is the items'
            shipment["category"] = category
        for item in shipment.get("items", []):
            item.setdefault("category", category)
    consent = shipment.get("customer", {}).get("consent")
    if consent is not None:
        shipment["customer"]["consent"] = consent.lower() in ("1", "true", "sim", "yes", "y", "s")
    return shipment


def _amount(value: str, decimal_comma: bool) -> str:
    """``1.234,56`` → ``1234.56`` in a decimal-comma file; ``12,50`` → ``12.50`` in any (else as written)."""
    if (decimal_comma and _COMMA_AMOUNT.fullmatch(value)) or _LONE_COMMA.fullmatch(value):
        return value.replace(".", "").replace(",", ".")
    return value


def _date(value: str, column: str, state: Any) -> str:
    """``30/11/2026`` → ``2026-11-30``; a ``shipped_at`` with a time of day, ``30/11/2026 14:30``, the time it is in
    the destination's zone (else as written: the schema says what is wrong)."""
    match = _BR_DATE.fullmatch(value)
    if match is None:
        return value
    day, month, year, hour, minute, second = match.groups()
    try:
        if hour is None:
            return datetime(int(year), int(month), int(day)).date().isoformat()
        if column != "shipped_at":
            return value
        local = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0))
    except ValueError:  # 31/02/2026
        return value
    zone = timezone_of(state.strip().upper() if isinstance(state, str) else None)
    return local.replace(tzinfo=zone).isoformat()


def _item(entry: str) -> dict[str, Any]:
    sku, _, rest = entry.strip().partition(":")
    quantity, _, description = rest.partition(":")
    count: int | str = int(quantity) if quantity.isascii() and quantity.isdigit() else quantity or 1
    return {"sku": sku, "quantity": count, **({"description": description} if description else {})}


def _unknown_columns(columns: list[str]) -> list[str]:
    warnings = []
    for name in columns:
        if name and name not in KNOWN:
            close = difflib.get_close_matches(name, sorted(KNOWN), n=1)
            hint = f"did you mean {close[0]!r}?" if close else "the columns are the webhook's fields (see the README)"
            warnings.append(f"unknown column {name!r} ignored: {hint}")
    return warnings


def read_chunks(path: Path, report: ImportReport) -> Iterator[tuple[list[Valid], list[ItemResult]]]:
    """Validated rows, a chunk at a time; the header's columns nobody knows go to ``report`` (as line 1)."""
    sheet = report.sheet = report.sheet or sniff(path)
    with path.open(newline="", encoding=sheet.encoding) as f:
        reader = csv.DictReader(f, delimiter=sheet.delimiter)
        columns = [(name or "").strip().lower() for name in reader.fieldnames or []]
        reader.fieldnames = columns
        unknown = _unknown_columns(columns)
        if unknown:
            report.warned.append(ItemResult(index=1, result="unchanged", warnings=unknown))
        ignored = set(columns) - KNOWN
        accepted: list[Valid] = []
        rejected: list[ItemResult] = []
        for row in reader:
            line = reader.line_num
            extra = row.pop(None, None)
            cells = {k: v for k, v in row.items() if k not in ignored}
            shipment, failure = parse_item(line, row_to_shipment(cells, sheet.decimal_comma))
            if shipment is not None:
                item = valid(line, shipment)
                if extra:
                    item.warnings.append(f"{len(extra)} cells past the header's {len(columns)} columns ignored")
                accepted.append(item)
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
    for accepted, rejected in read_chunks(path, report):

        async def work(session: AsyncSession, items: list[Valid] = accepted) -> list[ItemResult]:
            return await upsert(SqlStore(session), items, source=source, now=clock.now())

        report.add(await with_retry(sessions, work) + rejected)
        progress(len(accepted) + len(rejected))
    report.rejected.sort(key=lambda r: r.index)
    report.warned.sort(key=lambda r: r.index)
    return report
