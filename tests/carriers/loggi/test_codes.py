"""Loggi's code table and tracking-code format: what the table holds and that the sandbox can say every story."""

import pytest

from carriers.base import Reason, Status
from carriers.correios.codes import lookup as correios_lookup
from carriers.loggi.codes import CONFIRMED, lookup, table
from carriers.loggi.tracking_code import check_code
from carriers.sandbox.scenarios import load_scenarios
from carriers.sandbox.speak import meaning, said_by


def test_the_confirmed_code_means_delivered() -> None:
    info = lookup("5")
    assert {"5"} == CONFIRMED
    assert info is not None and (info.status, info.reason) == (Status.DELIVERED, None)
    assert info.description == "O pacote foi recebido no endereço de entrega."
    assert lookup(" 5 ") == info and lookup(5) == info


def test_codes_are_loggi_style_digit_strings_and_unknown_ones_are_none() -> None:
    assert all(code.isdigit() for code in table())
    assert lookup("999") is None and lookup("") is None


def test_the_table_covers_the_states_a_parcel_carrier_reports() -> None:
    pairs = {(info.status, info.reason) for info in table().values()}
    expected = {
        (Status.PENDING, None),
        (Status.POSTED, None),
        (Status.IN_TRANSIT, None),
        (Status.OUT_FOR_DELIVERY, None),
        (Status.DELIVERED, None),
        (Status.DELIVERY_FAILED, None),
        (Status.DELIVERY_FAILED, Reason.CONSIGNEE_ABSENT),
        (Status.DELIVERY_FAILED, Reason.ADDRESS_PROBLEM),
        (Status.AWAITING_PICKUP, None),
        (Status.RETURNING, None),
        (Status.RETURNED, None),
        (Status.LOST, Reason.CARRIER_LOST),
        (Status.LOST, Reason.CARRIER_STOLEN),
        (Status.IN_TRANSIT, Reason.CARRIER_DAMAGED),
        (Status.RETURNING, Reason.CONSIGNEE_REFUSED),
        (Status.HELD, Reason.CUSTOMS_INSPECTION),
    }
    assert expected <= pairs
    assert {info.status for info in table().values()} == set(Status)


def scenario_events() -> list[tuple[str, object]]:
    return [(name, event) for name, s in load_scenarios().items() for event in s.events]


@pytest.mark.parametrize(("scenario", "event"), scenario_events())
def test_every_scenario_event_is_sayable_by_loggi(scenario: str, event: object) -> None:
    """Every event of a built-in scenario with a Correios meaning has a Loggi code of the same status (the EST
    reversal and the deliberately unknown code have none: the sandbox handles them, see carriers/sandbox/loggi.py)."""
    from carriers.sandbox.model import Event

    assert isinstance(event, Event)
    if correios_lookup(event.type, event.status) is None:
        assert (event.type, scenario) in {("EST", "reversal"), ("BDE", "unknown_code")}
        return
    info = said_by(table(), event)
    status, reason = meaning(event)
    assert info.status is status
    if (status, reason) in {(i.status, i.reason) for i in table().values()}:
        assert info.reason is reason


@pytest.mark.parametrize("code", ["SH1007503594LG", "AB12345678LG", "XY123456789012LG", "KIF511LG3LGGA3U8G28B4200NA"])
def test_loggi_codes_and_loggi_keys_pass(code: str) -> None:
    assert check_code(code) is None


@pytest.mark.parametrize(
    "code",
    ["SH12LG", "SH1007503594BR", "S1007503594LG", "SH1007503594L", "1H1007503594LG", "SS123456785BR", "", "KIF511"],
)
def test_other_codes_are_refused_with_the_expected_format(code: str) -> None:
    problem = check_code(code)
    assert problem is not None
    assert repr(code) in problem and "SH1007503594LG" in problem and "loggiKey" in problem
