"""Kangu's event codes as data: ``codes.csv`` (``code,status,reason,description``), read once and validated by
Zelo's :class:`~carriers.base.codes.CodeTable` (a bad row is an error naming the line, the column and the value)."""

from functools import cache
from pathlib import Path

from carriers.base.codes import CodeInfo, CodeTable

CODES_PATH = Path(__file__).with_name("codes.csv")


@cache
def table() -> CodeTable:
    return CodeTable.load(CODES_PATH)


def lookup(code: object) -> CodeInfo | None:
    """What a raw Kangu event code means (``" entregue "`` is ``ENTREGUE``), or None when the table lacks it."""
    return table().lookup(code)
