"""Pure field checks for Brazilian shipment data. Each returns the normalized value or raises
ValueError with a message that says what was wrong, with the value, and what is expected; a customer's
value (e-mail, phone, CEP) shown masked (``tracker.mask``)."""

import csv
import re
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path

from tracker import mask

_E164 = re.compile(r"^\+[1-9][0-9]{7,14}$")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_EMAIL = re.compile(
    rf"^(?P<local>[A-Za-z0-9!#$%&'*+/=?^_`{{|}}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{{|}}~-]+)*)@{_LABEL}(?:\.{_LABEL})*\.[A-Za-z]{{2,63}}$"
)
_NFE_WEIGHTS = (2, 3, 4, 5, 6, 7, 8, 9)
_PHONE_PUNCTUATION = re.compile(r"[\s().-]")
_CENTS = Decimal("0.01")


@cache
def ufs() -> frozenset[str]:
    with (Path(__file__).parent.parent / "ufs.csv").open(encoding="utf-8") as f:
        return frozenset(row["uf"] for row in csv.DictReader(f))


def _digits(text: str) -> bool:
    """ASCII digits only (``str.isdigit`` also takes ``٣`` and ``３``, which no system downstream reads)."""
    return text.isascii() and text.isdigit()


def cep(value: str) -> str:
    digits = value.replace("-", "").replace(".", "").strip()
    if len(digits) != 8 or not _digits(digits):
        raise ValueError(f"CEP {mask.cep(value)!r} is not valid: expected 8 digits, e.g. 01310-100 or 01310100")
    return digits


def uf(value: str) -> str:
    code = value.strip().upper()
    if code not in ufs():
        raise ValueError(f"state {value!r} is not a Brazilian UF: expected one of {', '.join(sorted(ufs()))}")
    return code


def nfe_key_check_digit(first43: str) -> int:
    """Mod-11 check digit of an NF-e access key: weights 2..9 from the right; 0 when the rest is 0 or 1."""
    total = sum(int(d) * _NFE_WEIGHTS[i % 8] for i, d in enumerate(reversed(first43)))
    rest = total % 11
    return 0 if rest < 2 else 11 - rest


def nfe_key(value: str) -> str:
    digits = re.sub(r"[\s.]", "", value)
    if len(digits) != 44 or not _digits(digits):
        raise ValueError(f"NF-e access key {value!r} is not valid: expected 44 digits")
    expected = nfe_key_check_digit(digits[:43])
    if int(digits[43]) != expected:
        raise ValueError(f"NF-e access key {value!r} fails its check digit: expected {expected}, found {digits[43]}")
    return digits


def phone(value: str) -> str:
    compact = _PHONE_PUNCTUATION.sub("", value)
    if not _E164.match(compact):
        expected = "expected + country code and number, e.g. +5511987654321"
        raise ValueError(f"phone {mask.phone(value)!r} is not in E.164 format: {expected}")
    return compact


def email(value: str) -> str:
    """Address syntax (RFC 5321 dot-atom local part, DNS domain); the domain is lower-cased."""
    address = value.strip()
    match = _EMAIL.match(address)
    if match is None or len(address) > 254 or len(match["local"]) > 64:
        raise ValueError(f"email {mask.email(value)!r} is not valid: expected an address such as maria@example.com")
    local, _, domain = address.rpartition("@")
    return f"{local}@{domain.lower()}"


MAX_MONEY = Decimal("9999999999.99")  # the columns hold 12 digits, two of them decimals


def money(value: Decimal | int | float | str, field: str) -> Decimal:
    """An amount of at most two decimal places. A JSON number comes as an exact ``Decimal`` (a float only when it
    holds the number exactly: see ``schemas.parse_all``), shown in the messages as written."""
    shown = str(value) if isinstance(value, Decimal) else repr(value)
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"{field} {shown} is not a number: expected an amount such as 129.90") from None
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"{field} {shown} must be zero or more, e.g. 129.90")
    if amount > MAX_MONEY:  # first: quantizing a number this large would overflow the decimal context
        raise ValueError(f"{field} {shown} is too large: at most {MAX_MONEY}")
    cents = amount.quantize(_CENTS)
    if amount != cents:
        raise ValueError(f"{field} {shown} has more than two decimal places")
    return cents
