"""Jadlog tracking codes: the 14-digit ``shipmentId`` the ERP gives, and the ``consulta`` key each code is sent
under (``shipmentId`` for 14 digits). No check digit is known for it, so only the form is checked."""

import re

_SHIPMENT_ID = re.compile(r"[0-9]{14}")
EXAMPLE = "10082212345678"


def check_code(code: str) -> str | None:
    """None when ``code`` is a Jadlog shipmentId (14 digits), else a sentence saying what is wrong."""
    if _SHIPMENT_ID.fullmatch(code):
        return None
    if not code:
        found = "an empty code"
    elif code.isascii() and code.isdigit():
        found = f"{len(code)} digits"
    else:
        found = f"{len(code)} characters, not all digits 0-9"
    return f"tracking code {code!r} is not a Jadlog shipmentId: expected 14 digits, e.g. {EXAMPLE}; got {found}"


def consulta_key(code: str) -> str:
    """The key of ``code`` in a ``consulta`` entry: ``shipmentId`` for 14 digits, else ``codigo`` (Jadlog's own
    code; Zelo never polls one, since :func:`check_code` refuses it, but a hand-made call may send it)."""
    return "shipmentId" if _SHIPMENT_ID.fullmatch(code) else "codigo"
