"""Scenario TOML validation: every error names the scenario, the event index, the field and the value."""

import copy
import re
from pathlib import Path
from typing import Any

import pytest

from carriers.sandbox.scenarios import load_scenarios
from carriers.sandbox.validation import parse_scenarios

EVENT: dict[str, Any] = {
    "at_h": 0,
    "type": "PO",
    "status": "01",
    "description": "Objeto postado",
    "city": "São Paulo",
    "uf": "SP",
}


def good() -> dict[str, Any]:
    second = {**EVENT, "at_h": 5, "type": "RO", "description": "Objeto em trânsito - por favor aguarde"}
    return {"demo": {"promised_days": 3, "events": [copy.deepcopy(EVENT), second]}}


def test_a_good_scenario_parses() -> None:
    scenario = parse_scenarios(good())["demo"]
    assert scenario.promised_days == 3
    assert [e.type for e in scenario.events] == ["PO", "RO"]
    assert scenario.events[0].detail is None
    assert scenario.events[0].unit == "Unidade de Tratamento"


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("at_h", -1, "events[1], field 'at_h': must be a number >= 0, got -1"),
        ("at_h", "5", "events[1], field 'at_h': must be a number >= 0, got '5'"),
        ("at_h", True, "events[1], field 'at_h': must be a number >= 0, got True"),
        ("status", 1, "events[1], field 'status': must be a non-empty string, got 1"),
        ("status", "1", "events[1], field 'status': must be a quoted 2-digit string such as \"01\", got '1'"),
        ("type", "bde", "events[1], field 'type': must be 2-3 uppercase letters such as 'BDE', got 'bde'"),
        ("uf", "São Paulo", "events[1], field 'uf': must be 2 uppercase letters such as 'SP', got 'São Paulo'"),
        ("description", "", "events[1], field 'description': must be a non-empty string, got ''"),
        ("detail", 7, "events[1], field 'detail': must be a non-empty string, got 7"),
        ("pickup_days", 0, "events[1], field 'pickup_days': must be a number > 0, got 0"),
        ("colour", "red", "events[1]: unknown field(s) ['colour']"),
    ],
)
def test_bad_event_fields_are_named(field: str, value: Any, expected: str) -> None:
    data = good()
    data["demo"]["events"][1][field] = value
    with pytest.raises(ValueError, match=re.escape(f"test.toml: scenario 'demo', {expected}")):
        parse_scenarios(data, "test.toml")


@pytest.mark.parametrize("field", ["at_h", "type", "status", "description", "city", "uf"])
def test_missing_event_fields_are_named(field: str) -> None:
    data = good()
    del data["demo"]["events"][0][field]
    with pytest.raises(ValueError, match=re.escape(f"scenario 'demo', events[0], field '{field}': missing")):
        parse_scenarios(data)


def test_events_out_of_time_order_are_rejected() -> None:
    data = good()
    data["demo"]["events"][0]["at_h"] = 10
    with pytest.raises(ValueError, match=r"events\[1\], field 'at_h': events must be in time order.*got 5"):
        parse_scenarios(data)


@pytest.mark.parametrize(
    ("scenario", "expected"),
    [
        ({"events": [EVENT]}, "scenario 'demo', field 'promised_days': missing"),
        ({"promised_days": -2, "events": [EVENT]}, "field 'promised_days': must be a whole number >= 0, got -2"),
        ({"promised_days": 2.5, "events": [EVENT]}, "field 'promised_days': must be a whole number >= 0, got 2.5"),
        ({"promised_days": 2}, "scenario 'demo', field 'events': missing"),
        ({"promised_days": 2, "events": []}, "field 'events': must be a non-empty list of tables, got []"),
        ({"promised_days": 2, "events": ["PO"]}, "scenario 'demo', events[0]: expected a table, got str 'PO'"),
        ({"promised_days": 2, "events": [EVENT], "speed": 1}, "scenario 'demo': unknown field(s) ['speed']"),
        ({"message": "SRO-021"}, "field 'message': must be one of ['SRO-019', 'SRO-020'], got 'SRO-021'"),
        ({"message": "SRO-020", "events": [EVENT]}, "a 'message' scenario takes no events"),
    ],
)
def test_bad_scenarios_are_named(scenario: dict[str, Any], expected: str) -> None:
    with pytest.raises(ValueError, match=re.escape(expected)):
        parse_scenarios({"demo": scenario})


def test_bad_names_and_empty_files() -> None:
    with pytest.raises(ValueError, match="no scenarios"):
        parse_scenarios({})
    with pytest.raises(ValueError, match="scenario 'On Time': the name must be"):
        parse_scenarios({"On Time": good()["demo"]})
    with pytest.raises(ValueError, match="scenario 'demo': expected a table, got int 3"):
        parse_scenarios({"demo": 3})


def test_message_scenarios() -> None:
    scenarios = parse_scenarios({"gone": {"message": "SRO-020"}, "bad": {"message": "SRO-019"}})
    assert scenarios["gone"].message == "SRO-020: Objeto não encontrado na base de dados dos Correios."
    assert scenarios["bad"].message == "SRO-019: Objeto inválido"
    assert scenarios["bad"].events == ()


def test_load_names_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("[demo\npromised_days = 1\n", encoding="utf-8")
    with pytest.raises(ValueError, match=re.escape("broken.toml: not valid TOML")):
        load_scenarios(broken)
    wrong = tmp_path / "wrong.toml"
    wrong.write_text('[demo]\npromised_days = 1\nevents = [{ at_h = 0, type = "PO" }]\n', encoding="utf-8")
    with pytest.raises(ValueError, match=re.escape("wrong.toml: scenario 'demo', events[0], field 'status'")):
        load_scenarios(wrong)


def test_the_built_in_file_is_valid_and_cached() -> None:
    assert load_scenarios() is load_scenarios()
    assert len(load_scenarios()) == 14


def test_a_claim_plan_parses_with_its_defaults() -> None:
    data = good()
    data["demo"]["claim"] = {"verdict": "upheld", "paid": "25.63"}
    plan = parse_scenarios(data)["demo"].claim
    assert (plan.verdict, plan.answer_days, str(plan.paid), plan.paid_days) == ("upheld", 5, "25.63", 10)
    assert parse_scenarios(good())["demo"].claim.verdict == "denied"


@pytest.mark.parametrize(
    ("claim", "expected"),
    [
        ({"verdict": "maybe"}, "claim, field 'verdict': must be one of upheld, denied, got 'maybe'"),
        ({"answer_days": -1}, "claim, field 'answer_days': must be a whole number of business days >= 0, got -1"),
        ({"verdict": "upheld", "paid": 25.63}, "claim, field 'paid': must be an amount in R$ as a quoted string"),
        ({"verdict": "upheld", "paid": "1,5"}, "claim, field 'paid': must be an amount in R$"),
        ({"verdict": "denied", "reactivated_verdict": "denied", "paid": "5"}, "a claim that is never upheld pays"),
        ({"payout": "5"}, "claim: unknown field(s) ['payout']"),
        ("upheld", "claim: expected a table"),
    ],
)
def test_a_bad_claim_plan_names_the_field(claim: Any, expected: str) -> None:
    data = good()
    data["demo"]["claim"] = claim
    with pytest.raises(ValueError, match=re.escape(expected)):
        parse_scenarios(data)
