"""Every field check, on both sides, with messages that name the value and what is expected."""

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.ingest import validation as check
from tracker.ingest.schemas import parse_all, parse_item

VALID_KEY_43 = "3526110123456700019955001000012345100012345"
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def nfe_key(first43: str = VALID_KEY_43) -> str:
    return first43 + str(check.nfe_key_check_digit(first43))


def test_cep() -> None:
    assert check.cep("01310-100") == "01310100"
    with pytest.raises(ValueError, match=r"CEP '01\*\*\*' is not valid: expected 8 digits"):
        check.cep("0131-100")


def test_uf_has_the_27_units() -> None:
    assert len(check.ufs()) == 27 and check.uf(" sp ") == "SP"
    with pytest.raises(ValueError, match=r"state 'XX' is not a Brazilian UF: expected one of AC, AL"):
        check.uf("XX")


def test_nfe_key_check_digit() -> None:
    key = nfe_key()
    assert check.nfe_key(key) == key
    assert check.nfe_key(" ".join(key[i : i + 4] for i in range(0, 44, 4))) == key
    wrong = key[:43] + str((int(key[43]) + 1) % 10)
    with pytest.raises(ValueError, match=f"fails its check digit: expected {key[43]}"):
        check.nfe_key(wrong)
    with pytest.raises(ValueError, match="expected 44 digits"):
        check.nfe_key("123")


@given(st.text(alphabet="0123456789", min_size=43, max_size=43))
def test_any_key_with_its_computed_digit_passes_and_others_fail(first43: str) -> None:
    key = nfe_key(first43)
    assert check.nfe_key(key) == key
    for other in set("0123456789") - {key[43]}:
        with pytest.raises(ValueError, match="fails its check digit"):
            check.nfe_key(key[:43] + other)


@pytest.mark.parametrize(
    "written",
    ["(11) 98765-4321", "11987654321", "5511987654321", "+55 11 98765-4321", "+55 (11) 98765-4321", "011 98765-4321"],
)
def test_a_brazilian_phone_as_erps_write_it_becomes_e164(written: str) -> None:
    assert check.phone(written) == "+5511987654321"


def test_a_landline_and_a_foreign_number_with_its_plus_are_phones_too() -> None:
    assert (check.phone("(11) 3456-7890"), check.phone("+1 415 555 2671")) == ("+551134567890", "+14155552671")


@pytest.mark.parametrize("bad", ["+0551198765", "+55abc", "9999", "98765-4321", "(00) 98765-4321", "1" * 60])
def test_what_is_no_phone_number_says_so_masked(bad: str) -> None:
    with pytest.raises(ValueError, match=r"phone '\*\*\*\d*' is not a phone number: expected a Brazilian number"):
        check.phone(bad)


def test_email() -> None:
    assert check.email("Maria@Example.com") == "Maria@example.com"
    with pytest.raises(ValueError, match=r"email 'm\*\*\*@' is not valid \(There must be something after the @-sign\)"):
        check.email("maria@")
    for bad in ("a..b@example.com", "maria@example", "maria@exemplo.test"):  # the hand regex took the last one
        with pytest.raises(ValueError, match=r"expected an address such as maria@example\.com"):
            check.email(bad)


def test_the_cep_ranges_name_each_state() -> None:
    assert [check.uf_of_cep(c) for c in ("01310100", "20040002", "69400000", "73000000", "76801000")] == [
        "SP",
        "RJ",
        "AM",
        "DF",
        "RO",
    ]
    assert check.uf_of_cep("00500000") is None and check.cep_range("DF") == (
        "70000-000 to 72799-999, 73000-000 to 73699-999"
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("-1", "must be zero or more"),
        ("1.234", "more than two decimal"),
        ("abc", "is not a number"),
        ("NaN", "must be zero or more"),
        ("10000000000.00", "'10000000000.00' is too large: at most 9999999999.99"),
        ("1e40", "'1e40' is too large: at most 9999999999.99"),  # beyond what quantizing can hold
    ],
)
def test_money_errors(value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check.money(value, "declared_value")
    assert check.money("129.9", "x") == Decimal("129.90")
    assert check.money("9999999999.99", "x") == Decimal("9999999999.99")  # the largest the columns hold


GOOD = {
    "external_id": "PED-1",
    "carrier": "correios",
    "tracking_code": "SS123456785BR",
    "invoice_key": nfe_key(),
    "shipped_at": "2026-11-02T10:00:00-03:00",
    "promised_delivery_date": "2026-11-09",
    "declared_value": "199.90",
    "shipping_cost": 25,
    "customer": {"name": "Maria", "email": "maria@example.com", "phone": "+5511987654321", "consent": True},
    "destination": {"postal_code": "01310-100", "city": "São Paulo", "state": "SP"},
    "items": [{"sku": "A1", "quantity": 2, "description": "Caneca"}],
}


def test_a_good_shipment_is_accepted_and_normalized() -> None:
    shipment, failure = parse_item(0, GOOD)
    assert failure is None and shipment is not None
    columns = shipment.columns()
    assert columns["destination_postal_code"] == "01310100" and columns["shipping_cost"] == Decimal("25.00")
    assert columns["items"] == [{"sku": "A1", "quantity": 2, "description": "Caneca"}]


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"carrier": "fedex"}, "carrier", "unknown carrier 'fedex'; expected one of: correios"),
        ({"tracking_code": "SS123456784BR"}, "tracking_code", "fails the S10 check digit: expected 5, found 4"),
        ({"tracking_code": "ABC"}, "tracking_code", "not in S10 format"),
        ({"invoice_key": "1" * 44}, "invoice_key", "fails its check digit"),
        ({"shipped_at": "2026-11-02T10:00:00"}, "shipped_at", "shipped_at '2026-11-02T10:00:00' has no time zone"),
        ({"shipped_at": "ontem"}, "shipped_at", "shipped_at 'ontem' is not a date and time: expected"),
        ({"shipped_at": "2026-13-01"}, "shipped_at", "'2026-13-01' is not a date and time: expected"),
        (
            {"promised_delivery_date": "2026-13-01"},
            "promised_delivery_date",
            "promised_delivery_date '2026-13-01' is not a date: expected a date as YYYY-MM-DD, e.g. 2026-11-30",
        ),
        ({"promised_delivery_date": "30/11/2026"}, "promised_delivery_date", "'30/11/2026' is not a date: expected"),
        ({"declared_value": "-5"}, "declared_value", "must be zero or more"),
        ({"shipping_cost": "1.001"}, "shipping_cost", "more than two decimal places"),
        ({"destination": {"postal_code": "1"}}, "destination.postal_code", "expected 8 digits"),
        ({"destination": {"state": "ZZ"}}, "destination.state", "not a Brazilian UF"),
        (
            {"items": [{"sku": "A", "quantity": 0}]},
            "items.0.quantity",
            "items.0.quantity 0 is too small: expected 1 or",
        ),
        ({"tracking_code": None}, "tracking_code", "got None"),
        ({"external_id": "x" * 101}, "external_id", "at most 100 characters"),
        (
            {"items": [{"sku": "A", "quantity": True}]},
            "items.0.quantity",
            "quantity True is not a whole number",
        ),  # was 1
        ({"items": [{"sku": "A", "quantity": 2.0}]}, "items.0.quantity", "quantity 2.0 is not a whole number"),
        ({"items": [{"sku": "A", "quantity": "2"}]}, "items.0.quantity", "quantity '2' is not a whole number"),
        ({"customer": {"consent": 1}}, "customer.consent", "consent 1 is not true or false: expected"),  # was True
        ({"customer": {"consent": "no"}}, "customer.consent", "consent 'no' is not true or false"),
        ({"destination": {"postal_code": 1310100}}, "destination.postal_code", "valid string; got '13***'"),
        ({"invoice_key": []}, "invoice_key", "Input should be a valid string; got []"),
        ({"destination": {"postal_code": "٠١٣١٠١٠٠"}}, "destination.postal_code", "expected 8 digits"),  # Arabic-Indic
        ({"invoice_key": nfe_key().translate(FULL_WIDTH)}, "invoice_key", "expected 44 digits"),
        ({"customer": {"name": "Maria\nSilva"}}, "customer.name", "found a line break (U+000A) at character 6"),
        ({"items": [{"sku": "A\x00", "quantity": 1}]}, "items.0.sku", "one line of printable text; found a NUL"),
    ],
)
def test_each_bad_field_is_named_with_its_value(change: dict[str, object], field: str, message: str) -> None:
    shipment, failure = parse_item(3, GOOD | change)
    assert shipment is None and failure is not None
    assert failure.result == "rejected" and failure.index == 3
    assert [(e.field, message in e.message) for e in failure.errors] == [(field, True)], failure.errors


def test_missing_required_fields_and_all_errors_at_once() -> None:
    _, failure = parse_item(0, {"destination": {"state": "XX"}})
    assert failure is not None
    assert {(e.field, e.message) for e in failure.errors} >= {
        ("carrier", "carrier is required"),
        ("tracking_code", "tracking_code is required"),
    }
    assert any(e.field == "destination.state" for e in failure.errors)


def test_unknown_fields_are_ignored_but_listed() -> None:
    shipment, _ = parse_item(
        0, GOOD | {"gift": True, "customer": {"cpf": "1"}, "items": [{"sku": "A", "quantity": 1, "cor": "azul"}]}
    )
    assert shipment is not None
    assert shipment.unknown_fields() == ["gift", "customer.cpf", "items[0].cor"]


def test_not_an_object() -> None:
    _, failure = parse_item(0, ["x"])
    assert failure is not None and failure.errors[0].message == "expected a JSON object, got list"


def _body(shipments: list[Any], kind: str = "shipment.upsert") -> bytes:
    return json.dumps({"type": kind, "data": {"shipments": shipments}}).encode()


def test_a_wholly_valid_body_is_parsed_in_one_pass_as_item_by_item() -> None:
    variants = [
        GOOD,
        GOOD
        | {"declared_value": 149.9, "shipping_cost": 0, "carrier": " Correios ", "tracking_code": "ss 123456785 br"},
        GOOD
        | {
            "gift": True,
            "customer": {"cpf": "1", "phone": "+55 (11) 98765-4321"},
            "items": [{"sku": "A", "quantity": 1, "x": 1}],
        },
        {"carrier": "correios", "tracking_code": "SS123456785BR", "customer": None, "items": []},
    ]
    shipments = parse_all(_body(variants))
    assert shipments is not None
    for index, (raw, shipment) in enumerate(zip(variants, shipments, strict=True)):
        alone, failure = parse_item(index, raw)
        assert failure is None and alone is not None
        assert shipment.columns() == alone.columns()
        assert shipment.unknown_fields() == alone.unknown_fields()
    assert shipments[2].unknown_fields() == ["gift", "customer.cpf", "items[0].x"]


@pytest.mark.parametrize(
    "body",
    [
        _body([GOOD, GOOD | {"tracking_code": "SS123456784BR"}]),  # one bad item: item by item, to say which
        _body([GOOD, "x"]),
        _body([GOOD | {"items": [{"sku": "A", "quantity": True}]}]),
        _body([GOOD | {"customer": {"consent": "true"}}]),
        _body([GOOD]).replace(b'"199.90"', b"1e-400"),  # a float would be 0: the exact path says why not
        _body([GOOD]).replace(b'"199.90"', b"129.999999999999999999"),  # a float would be 130
        _body([GOOD], kind="order.created"),
        _body([GOOD] * 1001),
        b'{"type": "shipment.upsert", "data": {}}',
        b"[]",
        b"not json",
    ],
)
def test_anything_wrong_leaves_the_body_to_the_item_by_item_path(body: bytes) -> None:
    assert parse_all(body) is None


@settings(max_examples=300, deadline=None)
@given(st.from_regex(r"[a-z0-9._+-]{1,20}@[a-zA-Z0-9-]{1,12}(\.[a-zA-Z0-9-]{1,8}){1,3}", fullmatch=True))
def test_the_plain_address_shortcut_agrees_with_email_validator(address: str) -> None:
    from email_validator import EmailNotValidError, validate_email

    try:
        expected: str | None = validate_email(address, check_deliverability=False).normalized
    except EmailNotValidError:
        expected = None
    try:
        got: str | None = check.email(address)
    except ValueError:
        got = None
    assert got == expected
