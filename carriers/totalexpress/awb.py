"""Total Express tracking codes: the AWB.

The manual's AWB format is not in the reference. Zelo takes 8 to 20 letters or digits (upper case, as ingest
writes codes): wide enough not to refuse a real AWB, narrow enough to catch a blank, punctuation or a pasted
sentence. The order number (``Pedido``) is not a tracking code here: the tracker asks by AWB only (``awbs``),
never by ``pedidos`` (an order number would pass this check, and Total Express would answer it "not found").
"""

import re

_AWB = re.compile(r"^[A-Z0-9]{8,20}\Z")
FORMAT = "AWB: 8 to 20 letters or digits"


def check_code(code: str) -> str | None:
    """None when ``code`` has the AWB's shape, else a sentence saying what is wrong."""
    if _AWB.match(code):
        return None
    if not code:
        return "tracking code is empty: expected a Total Express AWB, 8 to 20 letters or digits"
    bad = sorted({c for c in code if not ("A" <= c <= "Z" or "0" <= c <= "9")})
    if bad:
        shown = "".join(bad)
        return (
            f"tracking code {code!r} is not a Total Express AWB: {shown!r} not allowed, "
            "expected 8 to 20 letters (A-Z) or digits"
        )
    return f"tracking code {code!r} is not a Total Express AWB: {len(code)} characters, expected 8 to 20"
