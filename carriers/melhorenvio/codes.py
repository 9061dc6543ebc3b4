"""Melhor Envio order statuses (and webhook events, ``order.<status>``) → our status, reason and ME's text.

The table is ``codes.csv`` next to this module, one row per status word Melhor Envio writes (``canceled`` in
order objects, ``cancelled`` in event names). Melhor Envio is coarse: every checkpoint between posting and
delivery is ``posted``, and it has no lost status (a parcel that never arrives stays ``posted``; the detector's
silence and lateness rules catch it).
"""

from functools import cache
from pathlib import Path

from carriers.base.codes import CodeInfo, CodeTable

CODES_PATH = Path(__file__).with_name("codes.csv")


@cache
def table() -> CodeTable:
    return CodeTable.load(CODES_PATH)


def lookup(status: str) -> CodeInfo | None:
    """The meaning of a Melhor Envio status word (any case), or None if unknown."""
    return table().lookup(status)
