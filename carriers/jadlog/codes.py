"""Jadlog tracking statuses: the status text of an event → our status, reason and a description.

Jadlog events carry no event code, only a status text (``tracking.eventos[].status``). The text, folded
(:func:`event_code`), is the event's code: stored with the event and looked up in ``codes.csv``.

Which rows are confirmed (reference/carriers-brazil.md §4, "Jadlog"); the official list is in Jadlog's
"Integração API JADLOG" PDF, not read:

- seen in a recorded Jadlog answer: ``EMISSAO``, ``ENTREGUE``;
- seen in an aggregator's documentation ("em rota", out for delivery): ``EM ROTA``;
- seen in public integration code mapping Jadlog answers: ``ENTRADA``, ``TRANSFERENCIA``;
- NOT confirmed, plausible Jadlog texts for the situations any carrier reports (collection, redispatch to a
  partner, failed attempts, absent, refused, address problems, Jadlog Pickup points, returns, extravio,
  roubo, sinistro, avaria, fiscal retention, sender block): every other row. An unknown text is not an
  error: the parser keeps the event at a safe status and says so in ``TrackingResult.problems``.
"""

import unicodedata
import zlib
from functools import cache
from pathlib import Path

from carriers.base.codes import CodeInfo, CodeTable

CODES_PATH = Path(__file__).with_name("codes.csv")
MAX_CODE = 32  # tracking_events.code holds 32 characters
NO_STATUS = "?"


@cache
def table() -> CodeTable:
    return CodeTable.load(CODES_PATH)


def event_code(status: object) -> str:
    """The stable code of a status text: accents dropped, spaces collapsed, upper case (``"Em  rota"`` and
    ``"EM ROTA"`` are one code); a text longer than 32 characters is cut and suffixed with its CRC-32, so two
    long texts keep two codes; ``"?"`` when there is no text."""
    if not isinstance(status, str):
        return NO_STATUS
    decomposed = unicodedata.normalize("NFKD", status)
    folded = " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).upper().split())
    if not folded:
        return NO_STATUS
    if len(folded) > MAX_CODE:
        return f"{folded[: MAX_CODE - 9]}~{zlib.crc32(folded.encode()):08X}"
    return folded


def lookup(status: object) -> CodeInfo | None:
    """The meaning of an event's status text, or None if the table does not have it."""
    return table().lookup(event_code(status))
