"""The one masker of a customer's data wherever it leaves the database: logs, error messages, stored answers.
Each kind keeps only a hint: an e-mail's first letter and domain, a phone's last 4 digits, a CEP's first 2."""

import re
from collections.abc import Callable
from typing import Any

_EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")
# a phone: international (+ and 10-15 digits), or Brazilian written any usual way: 55 or +55 or a trunk 0 first
# (or none), the area code in brackets or not, a mobile's leading 9 apart or not, spaces, dots or dashes between
_PHONE = re.compile(
    r"\+\d{10,15}\b"
    r"|(?<![\w+])(?:\+?55[\s.-]?|0)?(?:\(\d{2}\)|\d{2})[\s.-]?(?:9[\s.-]?)?\d{4}[\s.-]?\d{4}(?![\w-])"
)
_CEP = re.compile(r"\b\d{5}-\d{3}\b")
HIDDEN = "***"


def email(value: str) -> str:
    """``joana@example.com`` → ``j***@example.com`` (no ``@``: the first letter only)."""
    local, at, domain = value.strip().rpartition("@")
    return f"{local[:1]}{HIDDEN}@{domain}" if at else initial(value)


def phone(value: str) -> str:
    """``+55 11 98765-4321`` → ``***4321`` (4 digits or fewer: nothing)."""
    digits = re.sub(r"\D", "", value)
    return HIDDEN + digits[-4:] if len(digits) > 4 else HIDDEN


def cep(value: str) -> str:
    """``01310-100`` → ``01***``."""
    return value.strip()[:2] + HIDDEN


def initial(value: str) -> str:
    """A name, a city: ``Maria`` → ``M***``."""
    return value.strip()[:1] + HIDDEN


def scrub(text: str) -> str:
    """Free text (a log line, a traceback, a message) with every e-mail, phone and CEP in it masked."""
    text = _EMAIL.sub(lambda m: email(m[0]), text)
    text = _PHONE.sub(lambda m: phone(m[0]), text)
    return _CEP.sub(lambda m: cep(m[0]), text)


_BY_KEY: dict[str, Callable[[str], str]] = {
    "email": email,
    "customer_email": email,
    "phone": phone,
    "customer_phone": phone,
    "postal_code": cep,
    "destination_postal_code": cep,
    **dict.fromkeys(("customer", "destination", "name", "customer_name", "city", "destination_city"), initial),
    "address": initial,
}


def shown(field: str, value: Any) -> str:
    """How a message shows a value given for ``field`` (``customer.email``, ``order_number``): quoted as ``repr``
    does, masked when the field holds a customer's data, and any contact in another field scrubbed."""
    masker = _BY_KEY.get(field.rpartition(".")[2])
    if masker is not None:
        return repr(masker(value if isinstance(value, str) else str(value)))
    return scrub(repr(value))
