"""Loggi status codes (``status.code``) → our status, reason and a description: ``codes.csv`` next to this module.

Loggi's full code list is not public (reference/carriers-brazil.md §4, open question 6). What is known and what is
assumed:

- CONFIRMED: ``5`` — highLevelStatus "Entregue", "O pacote foi recebido no endereço de entrega." (the official
  webhook sample, https://docs.api.loggi.com/reference/webhook). Codes are strings of digits there.
- NOT CONFIRMED: every other row (1–4 and 6–18). Their numbers and wording are ours: 1 to 4 follow the journey in
  the order that ends in 5 (created, collected, in transit, out for delivery); 6 and up cover the other states a
  parcel carrier reports (failed attempt, recipient absent, address problem, awaiting pickup, returning,
  returned, lost, damaged, stolen, refused, not collected in time, held for inspection). They let the sandbox
  speak every built-in scenario and keep the table's shape ready for the real list; replace them when Loggi's
  list is known.

A code missing from the table is not an error: the parser keeps the event with a safe status, marks it
``known_code=False`` and says so in the result's ``problems``, and the poll report counts it.
"""

from functools import cache
from pathlib import Path

from carriers.base.codes import CodeInfo, CodeTable

CODES_PATH = Path(__file__).with_name("codes.csv")
CONFIRMED = frozenset({"5"})


@cache
def table() -> CodeTable:
    return CodeTable.load(CODES_PATH)


def lookup(code: object) -> CodeInfo | None:
    """The meaning of one Loggi status code, or None if the table does not have it."""
    return table().lookup(code)
