"""S10 check digits: the published vectors and the rules for 10 and 11."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carriers.correios.s10 import check_code, check_digit, make_code


@pytest.mark.parametrize(
    ("serial", "digit"), [("47312482", 9), ("00071758", 1), ("96633102", 0), ("76129403", 8), ("00071759", 5)]
)
def test_published_check_digits(serial: str, digit: int) -> None:
    assert check_digit(serial) == digit


def test_valid_and_invalid_codes_are_told_apart_with_the_reason() -> None:
    assert check_code("EB000717595HK") is None
    assert check_code("RR473124829GB") is None
    assert check_code("EB000717594HK") == "tracking code 'EB000717594HK' fails the S10 check digit: expected 5, found 4"
    message = check_code("SS12345BR")
    assert message is not None and "not in S10 format" in message and "'SS12345BR'" in message


@given(st.sampled_from(["SS", "PN", "QB", "OY", "LB"]), st.integers(0, 99_999_999))
def test_made_codes_always_check_and_any_other_digit_fails(prefix: str, serial: int) -> None:
    code = make_code(prefix, serial)
    assert check_code(code) is None
    wrong = code[:10] + str((int(code[10]) + 1) % 10) + code[11:]
    assert check_code(wrong) is not None


def test_only_ascii_digits_count() -> None:
    assert check_code("SS١٢٣٤٥٦٧٨٥BR") is not None
    assert check_code("SS123456785BR\n") is not None


@given(st.integers(0, 99_999_999))
def test_check_code_agrees_with_check_digit_for_every_last_digit(serial: int) -> None:
    digits = f"{serial:08d}"
    for last in range(10):
        assert (check_code(f"SS{digits}{last}BR") is None) == (last == check_digit(digits))
