"""Jadlog tracking codes: a 14-digit shipmentId, sent under the consulta key its form gives."""

import pytest

from carriers.jadlog import SPEC
from carriers.jadlog.shipment import check_code, consulta_key


def test_a_14_digit_shipment_id_is_valid() -> None:
    assert check_code("10082212345678") is None
    assert SPEC.check_code("00000000000001") is None


@pytest.mark.parametrize(
    ("code", "found"),
    [
        ("1008221234567", "13 digits"),
        ("100822123456789", "15 digits"),
        ("", "an empty code"),
        ("SS123456785BR", "13 characters, not all digits 0-9"),
        ("1008221234567X", "14 characters, not all digits 0-9"),
        ("10082212345678 ", "15 characters, not all digits 0-9"),
        ("１００８２２１２３４５６７８", "14 characters, not all digits 0-9"),  # full-width digits
    ],
)
def test_other_codes_are_refused_with_a_sentence_naming_the_code_and_the_form(code: str, found: str) -> None:
    problem = check_code(code)
    assert problem is not None
    assert repr(code) in problem and "expected 14 digits" in problem and problem.endswith(f"got {found}")


def test_the_consulta_key_follows_the_code_form() -> None:
    assert consulta_key("10082212345678") == "shipmentId"
    assert consulta_key("JAD-123") == "codigo"
