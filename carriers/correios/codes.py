"""Correios SRO event codes: (event type, status number) → our status, reason and the Correios text.

The table is ``codes.csv`` next to this module: one row per pair of the Correios SRO manual
(reference/carriers-brazil.md §1), ``BDx`` expanded into BDE, BDI and BDR rows. ``EST`` (reversal of
the previous event) is not in it: the parser handles it. Every row is validated on load.
"""

import csv
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import MappingProxyType

from carriers.base.vocabulary import Reason, Status

CODES_PATH = Path(__file__).with_name("codes.csv")
COLUMNS = ("type", "status_number", "status", "reason", "description")
_STATUSES = {s.value: s for s in Status}
_REASONS = {r.value: r for r in Reason}


@dataclass(frozen=True, slots=True)
class CodeInfo:
    """What one Correios event means in the normalized vocabulary."""

    status: Status
    reason: Reason | None
    description: str


def load_codes(path: Path | None = None) -> dict[tuple[str, str], CodeInfo]:
    """Read and validate the table; raise ValueError naming the line, column, bad value and what was expected."""
    path = path or CODES_PATH
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, [])
        if tuple(header) != COLUMNS:
            raise ValueError(f"{path.name} line 1: header is {','.join(header)!r}, expected {','.join(COLUMNS)!r}")
        table: dict[tuple[str, str], CodeInfo] = {}
        for fields in reader:
            if not fields:  # a blank line
                continue
            where = f"{path.name} line {reader.line_num}"
            if len(fields) != len(COLUMNS):
                raise ValueError(
                    f"{where}: {len(fields)} fields {fields!r}, expected {len(COLUMNS)} ({','.join(COLUMNS)})"
                )
            key, info = _parse_row(dict(zip(COLUMNS, fields, strict=True)), where)
            if key in table:
                raise ValueError(f"{where}: duplicate pair ({key[0]!r}, {key[1]!r}), expected each pair once")
            table[key] = info
    return table


def _parse_row(row: dict[str, str], where: str) -> tuple[tuple[str, str], CodeInfo]:
    def bad(column: str, expected: str) -> ValueError:
        return ValueError(f"{where}: column {column!r} has {row[column]!r}, expected {expected}")

    if not re.fullmatch(r"[A-Z]{2,3}", row["type"]):
        raise bad("type", "2 or 3 upper-case letters (e.g. 'BDE')")
    if not re.fullmatch(r"[0-9]{2}", row["status_number"]):
        raise bad("status_number", "2 digits, zero-padded (e.g. '01')")
    if row["status"] not in _STATUSES:
        raise bad("status", "one of " + ", ".join(_STATUSES))
    if row["reason"] and row["reason"] not in _REASONS:
        raise bad("reason", "empty or one of " + ", ".join(_REASONS))
    if not row["description"].strip():
        raise bad("description", "the Correios description, not blank")
    info = CodeInfo(_STATUSES[row["status"]], _REASONS.get(row["reason"]), row["description"].strip())
    return (row["type"], row["status_number"]), info


@cache
def _table() -> Mapping[tuple[str, str], CodeInfo]:
    return MappingProxyType(load_codes())


def lookup(type_: str, status_number: str | int) -> CodeInfo | None:
    """The meaning of one event, or None if unknown; ``("bde", 1)`` and ``("BDE", "01")`` are the same pair."""
    return _table().get((type_.strip().upper(), str(status_number).strip().zfill(2)))
