"""The one masker for a customer's data wherever it leaves the database: logs, error messages, stored answers."""

from tracker import mask


def test_each_kind_keeps_only_a_hint() -> None:
    assert mask.email("joana.silva@example.com") == "j***@example.com"
    assert mask.email("not-an-address") == "n***"
    assert mask.phone("+55 (11) 98765-4321") == "***4321"
    assert mask.phone("1234") == "***"
    assert mask.cep("01310-100") == "01***"
    assert mask.email("") == mask.phone("") == mask.cep("") == "***"


def test_free_text_is_scrubbed_of_addresses_phones_and_ceps() -> None:
    text = "para maria@example.com, +5511987654321 ou (11) 98765-4321, CEP 01310-100; SS123456785BR 2026-11-22"
    assert mask.scrub(text) == "para m***@example.com, ***4321 ou ***4321, CEP 01***; SS123456785BR 2026-11-22"


def test_a_value_is_shown_masked_by_the_field_it_belongs_to() -> None:
    assert mask.shown("customer.email", "joana@example.com") == "'j***@example.com'"
    assert mask.shown("customer.phone", "+5511987654321") == "'***4321'"
    assert mask.shown("destination.postal_code", "0131") == "'01***'"
    assert mask.shown("customer.name", "Maria da Silva") == "'M***'"
    assert mask.shown("destination.city", "Campinas") == "'C***'"
    assert mask.shown("customer", "Maria da Silva") == "'M***'"  # a whole customer given as text
    assert mask.shown("order_number", "maria@example.com") == "'m***@example.com'"  # a contact in the wrong field
    assert mask.shown("items.0.quantity", True) == "True"
    assert mask.shown("carrier", "dhl") == "'dhl'"


def test_bare_brazilian_phone_numbers_in_free_text_are_masked() -> None:
    said = [
        "11987654321",
        "5511987654321",
        "+55 11 98765-4321",
        "+55 (11) 98765-4321",
        "(11) 98765-4321",
        "(11)98765-4321",
        "11 98765 4321",
        "11 9 8765-4321",
        "011 98765-4321",
        "(11) 3456-7890",
    ]
    for phone in said:
        assert mask.scrub(f"ligar para {phone} hoje") == f"ligar para ***{phone[-4:]} hoje", phone


def test_codes_dates_ceps_and_ids_are_not_taken_for_phones() -> None:
    text = "SS123456785BR 2026-11-22T08:00:00 shipment_id=123456 CEP 01310-100 10.0.0.5 order 98765"
    assert mask.scrub(text) == "SS123456785BR 2026-11-22T08:00:00 shipment_id=123456 CEP 01*** 10.0.0.5 order 98765"
