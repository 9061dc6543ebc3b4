"""Pure field checks for Brazilian shipment data. Each returns the normalized value or raises
ValueError with a message that says what was wrong, with the value, and what is expected; a customer's
value (e-mail, phone, CEP) shown masked (``tracker.mask``)."""

import csv
import re
from bisect import bisect_right
from decimal import Decimal, InvalidOperation
from functools import cache, lru_cache
from pathlib import Path

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from tracker import mask

_NFE_WEIGHTS = (2, 3, 4, 5, 6, 7, 8, 9)
_CENTS = Decimal("0.01")
PHONE_EXPECTED = "expected a Brazilian number with its area code, e.g. (11) 91234-5678, or + country code and number"
_PHONE_LONGEST = 40  # characters of a phone as written (punctuation included): anything longer is not one


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


@lru_cache(maxsize=4096)  # a store's repeat customers: the numbering-plan check costs ~20 µs a number
def phone(value: str) -> str:
    """A phone number in E.164 (``+5511987654321``), from any way a Brazilian ERP writes one: ``(11) 98765-4321``,
    ``11987654321``, ``5511987654321``, ``0xx11 98765-4321``, ``+55 11 98765-4321``; a number of another country
    needs its ``+``. Checked against the numbering plan (``phonenumbers``), not only its length."""
    text = value.strip()
    digits = re.sub(r"\D", "", text)
    if not text.startswith("+") and digits.startswith("55") and len(digits) in (12, 13):
        text = "+" + digits  # the country code written without its +: 55 + area code + 8 or 9 digits
    try:
        number = phonenumbers.parse(text, "BR") if len(text) <= _PHONE_LONGEST else None
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise ValueError(f"phone {mask.phone(value)!r} is not a phone number: {PHONE_EXPECTED}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# The plain form nearly every address takes (ASCII dot-atom, a dotted domain with a letter TLD): accepted as
# email-validator accepts it, without its ~30 µs per address on the webhook's path (a test holds the two equal).
_PLAIN_EMAIL = re.compile(
    r"(?P<local>[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*)"
    r"@(?P<domain>(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63})"
)
_SPECIAL_USE = frozenset({"arpa", "invalid", "local", "localhost", "onion", "test", "internal", "home", "lan"})


def email(value: str) -> str:
    """Address syntax (``email-validator``, as pydantic uses it; no DNS look-up): the normalized address, its
    domain lower-cased."""
    text = value.strip()
    plain = _PLAIN_EMAIL.fullmatch(text)
    if plain and len(plain["local"]) <= 64 and len(text) <= 254:
        domain = plain["domain"].lower()
        if domain.rsplit(".", 1)[1] not in _SPECIAL_USE:
            return f"{plain['local']}@{domain}"
    try:
        return validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        why = mask.scrub(str(exc).rstrip("."))
        raise ValueError(
            f"email {mask.email(value)!r} is not valid ({why}): expected an address such as maria@example.com"
        ) from None


@cache
def _cep_ranges() -> tuple[list[int], list[tuple[int, str]]]:
    """Correios' CEP ranges per UF (``cep_ranges.csv``), as sorted starts and (end, UF) for a bisect."""
    with (Path(__file__).parent / "cep_ranges.csv").open(encoding="utf-8") as f:
        rows = sorted((int(r["first"]), int(r["last"]), r["uf"]) for r in csv.DictReader(f))
    return [first for first, _, _ in rows], [(last, uf) for _, last, uf in rows]


def cep_range(uf: str) -> str:
    """A UF's CEP ranges as people write them: ``01000-000 to 19999-999``."""
    starts, ends = _cep_ranges()
    shown = [f"{_cep(first)} to {_cep(last)}" for first, (last, of) in zip(starts, ends, strict=True) if of == uf]
    return ", ".join(shown)


def _cep(number: int) -> str:
    digits = f"{number:08d}"
    return f"{digits[:5]}-{digits[5:]}"


def uf_of_cep(digits: str) -> str | None:
    """The UF whose Correios range holds this (valid, 8-digit) CEP; None if none does (00000-000 to 00999-999)."""
    starts, ends = _cep_ranges()
    number = int(digits)
    at = bisect_right(starts, number) - 1
    if at < 0 or number > ends[at][0]:
        return None
    return ends[at][1]


MAX_MONEY = Decimal("9999999999.99")  # the columns hold 12 digits, two of them decimals
_PLAIN_AMOUNT = re.compile(r"[0-9]{1,10}(?:\.[0-9]{1,2})?")  # at most MAX_MONEY, at most two decimal places


def money(value: Decimal | int | float | str, field: str) -> Decimal:
    """An amount of at most two decimal places. A JSON number comes as an exact ``Decimal`` (a float only when it
    holds the number exactly: see ``schemas.parse_all``), shown in the messages as written. An amount written as
    most are (``"129.90"``, ``"15"``: plain digits, within bounds) takes the short way, with nothing to check."""
    if type(value) is str and _PLAIN_AMOUNT.fullmatch(value):
        return Decimal(value).quantize(_CENTS)
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
