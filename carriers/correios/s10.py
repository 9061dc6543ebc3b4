"""UPU S10 tracking codes: 2 letters, 8 digits, a mod-11 check digit, 2 letters (e.g. SS123456785BR)."""

import re

_S10 = re.compile(r"^[A-Z]{2}[0-9]{9}[A-Z]{2}\Z")
_WEIGHTS = (8, 6, 4, 2, 3, 5, 9, 7)
_ZEROS = ord("0") * sum(_WEIGHTS)  # what the digits' character codes add to the weighted sum
_LAST = {10: 0, 11: 5}


def check_digit(serial: str) -> int:
    """The S10 check digit of an 8-digit serial: 11 - (Σ digit×weight mod 11), 10→0, 11→5."""
    if len(serial) != 8 or not serial.isdigit():
        raise ValueError(f"serial must be 8 digits, got {serial!r}")
    c = 11 - sum(int(d) * w for d, w in zip(serial, _WEIGHTS, strict=True)) % 11
    return _LAST.get(c, c)


def make_code(prefix: str, serial: int, country: str = "BR") -> str:
    digits = f"{serial:08d}"
    return f"{prefix}{digits}{check_digit(digits)}{country}"


def check_code(code: str) -> str | None:
    """None when ``code`` is a valid S10 code, else a sentence saying what is wrong."""
    if not _S10.match(code):
        return (
            f"tracking code {code!r} is not in S10 format: expected 2 letters, 9 digits and 2 letters, "
            "e.g. SS123456785BR"
        )
    d = code.encode("ascii")  # the pattern admits ASCII only: letters, then digits at positions 2 to 10
    c = 11 - (d[2] * 8 + d[3] * 6 + d[4] * 4 + d[5] * 2 + d[6] * 3 + d[7] * 5 + d[8] * 9 + d[9] * 7 - _ZEROS) % 11
    expected = _LAST.get(c, c)  # check_digit(code[2:10]), inlined: a quarter of the time to check a code
    if d[10] - 48 != expected:  # 48: ord("0")
        return f"tracking code {code!r} fails the S10 check digit: expected {expected}, found {code[10]}"
    return None
