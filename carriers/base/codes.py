"""A carrier's code table as data: ``codes.csv`` with columns ``code,status,reason,description``.

One row per raw carrier code: the normalized status and reason it means (DESIGN §3) and the carrier's own
description. Every row is validated on load; a bad row is a ValueError naming the file, line, column, the
value and what was expected. Codes are matched as written, after stripping and upper-casing.
"""

import csv
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from carriers.base.vocabulary import Reason, Status

COLUMNS = ("code", "status", "reason", "description")
_STATUSES = {s.value: s for s in Status}
_REASONS = {r.value: r for r in Reason}


@dataclass(frozen=True, slots=True)
class CodeInfo:
    """What one raw carrier code means in the normalized vocabulary."""

    code: str
    status: Status
    reason: Reason | None
    description: str


class CodeTable(Mapping[str, CodeInfo]):
    """The validated rows of one carrier's ``codes.csv``, by normalized code."""

    def __init__(self, rows: Mapping[str, CodeInfo], name: str) -> None:
        self._rows = MappingProxyType(dict(rows))
        self.name = name

    @classmethod
    def load(cls, path: Path) -> "CodeTable":
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader, [])
            if tuple(header) != COLUMNS:
                raise ValueError(f"{path.name} line 1: header is {','.join(header)!r}, expected {','.join(COLUMNS)!r}")
            rows: dict[str, CodeInfo] = {}
            for fields in reader:
                if not fields:
                    continue
                where = f"{path.name} line {reader.line_num}"
                if len(fields) != len(COLUMNS):
                    raise ValueError(
                        f"{where}: {len(fields)} fields {fields!r}, expected {len(COLUMNS)} ({','.join(COLUMNS)})"
                    )
                info = _row(dict(zip(COLUMNS, fields, strict=True)), where)
                if info.code in rows:
                    raise ValueError(f"{where}: duplicate code {info.code!r}, expected each code once")
                rows[info.code] = info
        return cls(rows, path.name)

    def lookup(self, code: object) -> CodeInfo | None:
        """The meaning of a raw code (``" entregue "`` and ``"ENTREGUE"`` are the same), or None if unknown."""
        return self._rows.get(normalize(code))

    def first_for(self, status: Status, reason: Reason | None) -> CodeInfo | None:
        """The first row meaning ``status`` with ``reason`` (else with any reason, else None): how a simulator
        says a normalized event in this carrier's words."""
        fallback = None
        for info in self._rows.values():
            if info.status is status:
                if info.reason is reason:
                    return info
                fallback = fallback or info
        return fallback

    def __getitem__(self, code: str) -> CodeInfo:
        return self._rows[code]

    def __iter__(self) -> Iterator[str]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)


def normalize(code: object) -> str:
    return str(code).strip().upper()


def _row(row: dict[str, str], where: str) -> CodeInfo:
    def bad(column: str, expected: str) -> ValueError:
        return ValueError(f"{where}: column {column!r} has {row[column]!r}, expected {expected}")

    code = normalize(row["code"])
    if not code or len(code) > 32:
        raise bad("code", "the carrier's code, 1 to 32 characters")
    if row["status"] not in _STATUSES:
        raise bad("status", "one of " + ", ".join(_STATUSES))
    if row["reason"] and row["reason"] not in _REASONS:
        raise bad("reason", "empty or one of " + ", ".join(_REASONS))
    if not row["description"].strip():
        raise bad("description", "the carrier's own description, not blank")
    return CodeInfo(code, _STATUSES[row["status"]], _REASONS.get(row["reason"]), row["description"].strip())
