"""Kangu tracking codes: ``KG`` and 10 digits (illustrative; no check digit is known, so only the form is checked)."""

import re

_CODE = re.compile(r"KG[0-9]{10}")
EXAMPLE = "KG0012345678"


def check_code(code: str) -> str | None:
    """None when ``code`` is a Kangu tracking code, else a sentence saying what is wrong."""
    if _CODE.fullmatch(code):
        return None
    return f"tracking code {code!r} is not a Kangu code: expected KG and 10 digits, e.g. {EXAMPLE}"
