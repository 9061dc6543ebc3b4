"""The installed package is a Zelo carrier: found by its entry point, with the tracking code's form checked."""

from carriers.base.registry import carriers, get

from zelo_kangu import SPEC


def test_zelo_finds_kangu_through_its_entry_point() -> None:
    assert get("kangu") is SPEC and "kangu" in carriers()
    assert SPEC.credential_fields == ("api_token",) and SPEC.secret_fields == ("api_token",)


def test_a_tracking_code_is_kg_and_ten_digits() -> None:
    assert SPEC.check_code("KG0012345678") is None
    assert SPEC.check_code("KG00123") == (
        "tracking code 'KG00123' is not a Kangu code: expected KG and 10 digits, e.g. KG0012345678"
    )
