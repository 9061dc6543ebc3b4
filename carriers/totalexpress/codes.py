"""Total Express status IDs (``CodStatus``) → our status, reason and the carrier's text: ``codes.csv``.

Sources (reference/carriers-brazil.md §4), both secondary transcriptions of the "Status de Entrega" manual's
"Anexo 1", to be checked against the manual itself:

- :data:`REFERENCE`: the IDs the reference lists (1, 6, 8–11, 14, 18, 19, 23–27, 30–36, 39–46, and 104
  "saiu para entrega" from an integrator's documentation);
- every other row (the flow codes: 0 arquivo recebido, 83 coleta realizada, 101–103 CD and transfer, 29
  cliente retira, 61 devolvida ao remetente, ...) comes from a second public transcription of the same annex
  and is **not confirmed**; its texts are used for the descriptions of the reference IDs too.

Mapping rules: a failed delivery (absent, address, consignee moved, unknown, deceased, dismissed) is
``delivery_failed`` (the sender may give a new address; a return shows as its own devolução code); a refusal
or cancellation ends delivery and is ``returning``; devolução in progress (25, 26, 34, 71) is ``returning``,
61 is ``returned``. "Extravio / roubo" (35, 36) is ``carrier_lost``: it does not say which. 92 "problemas
fiscais" (a fiscal hold, e.g. SEFAZ) is ``held`` with ``customs_inspection``, the nearest reason.

The rows are grouped by status, the plain row first: the sandbox says a status with the first row that means
it (:meth:`CodeTable.first_for`).
"""

from functools import cache
from pathlib import Path

from carriers.base.codes import CodeInfo, CodeTable

CODES_PATH = Path(__file__).with_name("codes.csv")
REFERENCE = frozenset(
    {"1", "6", "8", "9", "10", "11", "14", "18", "19", "23", "24", "25", "26", "27"}
    | {str(n) for n in range(30, 37)}
    | {str(n) for n in range(39, 47)}
    | {"104"}
)


@cache
def table() -> CodeTable:
    return CodeTable.load(CODES_PATH)


def normalize_id(value: object) -> str:
    """A status ID as the table writes it: ``7``, ``"07"`` and ``" 7 "`` are ``"7"``; other text upper-cased."""
    text = str(value).strip().upper()
    return str(int(text)) if text.isascii() and text.isdigit() else text


def lookup(value: object) -> CodeInfo | None:
    """The meaning of a ``CodStatus``, or None if the table lacks it."""
    return table().lookup(normalize_id(value))
