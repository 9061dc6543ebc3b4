"""Pure: the return codes of Correios' pedido-informacao API (``pi_codes.csv``) → an :class:`Outcome` and reasons.

One row per (operation, code): ``cadastra`` and ``reativa`` codes classify a filing; ``acompanha`` codes classify
a look-up that found no manifestação (used after a 900, "already registered"). Source: Correios *Manual de
Integração* v2.2, chapter 16 (reference/carriers-brazil.md §3.7). A code missing from the table falls back to
another filer with the code and Correios' own text, so a person decides (never a silent refusal or retry loop).
"""

import csv
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType

from carriers.base import Outcome

DEFAULT_PATH = Path(__file__).with_name("pi_codes.csv")
OPERATIONS = ("cadastra", "reativa", "acompanha")
COLUMNS = ("operation", "code", "outcome", "reason_pt", "reason_en")


@dataclass(frozen=True, slots=True)
class PiCode:
    operation: str
    code: int
    outcome: Outcome
    reason_pt: str
    reason_en: str


@lru_cache(maxsize=4)
def load_codes(path: Path = DEFAULT_PATH) -> Mapping[tuple[str, int], PiCode]:
    """Every row of the table, by (operation, code); a ValueError names the line and field at fault."""
    codes: dict[tuple[str, int], PiCode] = {}
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        if tuple(reader.fieldnames or ()) != COLUMNS:
            raise ValueError(f"{path.name}: expected the columns {', '.join(COLUMNS)}, got {reader.fieldnames}")
        for line, row in enumerate(reader, start=2):
            where = f"{path.name}, line {line}"
            if None in row or any(not (row.get(c) or "").strip() for c in COLUMNS):
                raise ValueError(f"{where}: every one of {', '.join(COLUMNS)} must be given, got {row}")
            if row["operation"] not in OPERATIONS:
                raise ValueError(f"{where}, field 'operation': one of {OPERATIONS}, got {row['operation']!r}")
            if not row["code"].isdigit():
                raise ValueError(f"{where}, field 'code': a whole number, got {row['code']!r}")
            try:
                outcome = Outcome(row["outcome"])
            except ValueError:
                allowed = ", ".join(o.value for o in Outcome)
                raise ValueError(f"{where}, field 'outcome': one of {allowed}, got {row['outcome']!r}") from None
            key = (row["operation"], int(row["code"]))
            if key in codes:
                raise ValueError(f"{where}: {key[0]} code {key[1]} is listed twice")
            codes[key] = PiCode(key[0], key[1], outcome, row["reason_pt"].strip(), row["reason_en"].strip())
    return MappingProxyType(codes)


def lookup(operation: str, code: int) -> PiCode | None:
    return load_codes().get((operation, code))
