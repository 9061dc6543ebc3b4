"""The Total Express AWB check: 8 to 20 letters or digits."""

import pytest

from carriers.totalexpress import SPEC
from carriers.totalexpress.awb import check_code


@pytest.mark.parametrize("code", ["12345678", "TE0000000001", "A" * 20, "SS123456785BR", "0" * 8])
def test_awbs_of_the_expected_shape_pass(code: str) -> None:
    assert check_code(code) is None


@pytest.mark.parametrize(
    ("code", "says"),
    [
        ("1234567", "7 characters, expected 8 to 20"),
        ("A" * 21, "21 characters, expected 8 to 20"),
        ("TE-0000-01", "'-' not allowed"),
        ("te00000001", "'et' not allowed"),
        ("TE 0000001", "' ' not allowed"),
        ("TÉ00000001", "'É' not allowed"),
        ("", "empty"),
    ],
)
def test_other_codes_are_refused_saying_why(code: str, says: str) -> None:
    problem = check_code(code)
    assert problem is not None and says in problem and "expected" in problem


def test_the_spec_uses_the_check_and_says_the_format() -> None:
    assert SPEC.check_code is check_code
    assert SPEC.code_format == "AWB: 8 to 20 letters or digits"
