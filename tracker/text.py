"""The text the service takes in: one line of printable characters. A control character (NUL, which
PostgreSQL cannot store; a line break or a tab, which WhatsApp templates refuse; any other C0 or C1 control)
or a Unicode line separator is refused wherever text comes in: a body's fields, a query's parameters."""

import re

_BAD = r"\x00-\x1f\x7f-\x9f\u2028\u2029"
LINE = f"^[^{_BAD}]*$"  # a pattern pydantic-core checks natively (``Field(pattern=LINE)``)
_FIRST_BAD = re.compile(f"[{_BAD}\ud800-\udfff]")  # and lone surrogates, which no database can encode
_NAMES = {"\x00": "a NUL", "\n": "a line break", "\r": "a line break", "\t": "a tab"}


def line_problem(value: str) -> str | None:
    """What is wrong with ``value`` as one line of text, saying what is expected; None if nothing is."""
    found = _FIRST_BAD.search(value)
    if found is None:
        return None
    char = found[0]
    name = _NAMES.get(char, "a control character")
    return f"expected one line of printable text; found {name} (U+{ord(char):04X}) at character {found.start() + 1}"
