"""Loggi tracking codes: the format check Zelo applies before it stores or polls a code.

Loggi's one published sample is ``SH1007503594LG`` (the official webhook example): 2 letters, 10 digits and the
suffix ``LG``. It is not UPU S10 (14 characters, no check digit known). With one sample only, the digit count is
taken loosely (8 to 12) so a real code of another length is not refused; the letters and the ``LG`` suffix are
required. The tracking endpoint also takes a package's ``loggiKey`` (26 upper-case letters and digits, e.g.
``KIF511LG3LGGA3U8G28B4200NA``), which a store that created the shipment by API may hold instead: it is accepted.
Codes reach the check already upper-cased, without spaces.
"""

import re

_TRACKING = re.compile(r"[A-Z]{2}[0-9]{8,12}LG")
_LOGGI_KEY = re.compile(r"[A-Z0-9]{26}")
CODE_FORMAT = "2 letters, 8 to 12 digits and LG (e.g. SH1007503594LG), or a 26-character loggiKey"


def check_code(code: str) -> str | None:
    """None when ``code`` looks like a Loggi tracking code or loggiKey, else a sentence saying what is expected."""
    if _TRACKING.fullmatch(code) or _LOGGI_KEY.fullmatch(code):
        return None
    return f"tracking code {code!r} is not a Loggi code: expected {CODE_FORMAT}"
