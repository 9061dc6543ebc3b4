"""The Total Express status table: the shipped CSV, what each ID of the reference means, and the sandbox's needs."""

import csv

import pytest

from carriers.base.vocabulary import Reason, Status
from carriers.correios.codes import lookup as correios_lookup
from carriers.sandbox.scenarios import load_scenarios
from carriers.sandbox.speak import meaning, said_by
from carriers.sandbox.totalexpress import REVERSAL, UNKNOWN_ID
from carriers.totalexpress.codes import CODES_PATH, REFERENCE, lookup, normalize_id, table

L, S, D, IN, A = Status.LOST, Status.RETURNING, Status.DELIVERY_FAILED, Status.IN_TRANSIT, Status.RETURNED

# Every ID the reference lists (reference/carriers-brazil.md §4), with what it must mean.
EXPECTED = {
    "1": (Status.DELIVERED, None),
    "6": (D, Reason.ADDRESS_PROBLEM),
    "8": (D, Reason.CONSIGNEE_ABSENT),
    "9": (S, Reason.CONSIGNEE_REFUSED),
    "10": (L, Reason.INDEMNIFIED),
    "11": (S, Reason.CARRIER_DAMAGED),
    "14": (IN, Reason.CARRIER_DAMAGED),
    **{c: (L, Reason.CARRIER_LOST) for c in ("18", "19", "23", "24", "30", "31", "32", "33", "35", "36")},
    "27": (L, Reason.CARRIER_STOLEN),
    "25": (S, None),
    "26": (S, None),
    "34": (S, None),
    "39": (D, Reason.CONSIGNEE_MOVED),
    "40": (S, Reason.CONSIGNEE_REFUSED),
    "41": (D, Reason.CONSIGNEE_UNKNOWN),
    "42": (D, Reason.CONSIGNEE_UNKNOWN),
    "43": (D, Reason.CONSIGNEE_UNKNOWN),
    "44": (D, Reason.ADDRESS_PROBLEM),
    "45": (D, Reason.ADDRESS_PROBLEM),
    "46": (D, Reason.ADDRESS_PROBLEM),
    "104": (Status.OUT_FOR_DELIVERY, None),
}


def test_every_row_of_the_csv_loads_once() -> None:
    with CODES_PATH.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(table()) >= 70
    assert all(normalize_id(r["code"]) == r["code"] for r in rows)  # written as the parser looks them up


def test_the_reference_ids_are_exactly_the_expected_ones() -> None:
    assert set(EXPECTED) == REFERENCE


@pytest.mark.parametrize(("code", "meant"), sorted(EXPECTED.items()))
def test_each_reference_id_means_what_the_mapping_says(code: str, meant: tuple[Status, Reason | None]) -> None:
    info = lookup(code)
    assert info is not None and (info.status, info.reason) == meant


@pytest.mark.parametrize(
    ("code", "meant"),
    [
        ("0", (Status.PENDING, None)),
        ("83", (Status.POSTED, None)),
        ("101", (IN, None)),
        ("102", (IN, None)),
        ("29", (Status.AWAITING_PICKUP, None)),
        ("21", (D, Reason.CONSIGNEE_ABSENT)),
        ("61", (A, None)),
        ("92", (Status.HELD, Reason.CUSTOMS_INSPECTION)),
    ],
)
def test_the_unconfirmed_flow_ids_are_in_the_table_too(code: str, meant: tuple[Status, Reason | None]) -> None:
    info = lookup(code)
    assert code not in REFERENCE and info is not None and (info.status, info.reason) == meant


@pytest.mark.parametrize("written", [104, "104", " 104 ", "0104"])
def test_ids_are_looked_up_however_they_are_written(written: object) -> None:
    info = lookup(written)
    assert info is not None and info.code == "104"


def test_an_unknown_id_is_none() -> None:
    assert lookup("777") is None and lookup("") is None


def test_the_first_row_of_each_status_has_no_reason() -> None:
    """The sandbox says a status with no exact row by the first row of that status: it must be the plain one
    where the carrier has one (a refusal must not stand in for a return after an unclaimed pickup)."""
    first: dict[Status, Reason | None] = {}
    for info in table().values():
        first.setdefault(info.status, info.reason)
    plain = {s for s, r in first.items() if r is None}
    assert plain >= {Status.PENDING, Status.POSTED, IN, Status.OUT_FOR_DELIVERY, Status.DELIVERED, S, A}


def test_every_event_of_every_scenario_is_sayable() -> None:
    for scenario in load_scenarios().values():
        for event in scenario.events:
            if event.type == REVERSAL or correios_lookup(event.type, event.status) is None:
                continue  # the voice leaves reversals out and says a pair unknown to Correios as an unknown ID
            info = said_by(table(), event)
            assert info.status is meaning(event)[0], (scenario.name, event.description)


def test_the_sandbox_unknown_id_is_not_in_the_table() -> None:
    assert lookup(UNKNOWN_ID) is None
