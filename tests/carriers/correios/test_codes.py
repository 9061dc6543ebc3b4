"""The Correios SRO code table: the shipped CSV, its validating loader and the normalizing lookup."""

from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carriers.base.vocabulary import Reason, Status
from carriers.correios.codes import CODES_PATH, CodeInfo, load_codes, lookup

TABLE = load_codes()
HEADER = "type,status_number,status,reason,description\n"
GOOD_ROW = 'BDE,01,delivered,,"Objeto entregue ao destinatário"\n'


def write(tmp_path: Path, *rows: str, header: str = HEADER) -> Path:
    path = tmp_path / "codes.csv"
    path.write_text(header + "".join(rows), encoding="utf-8")
    return path


def test_the_shipped_table_is_complete_and_every_row_is_valid() -> None:
    assert len(TABLE) >= 300
    assert {type_ for type_, _ in TABLE} >= {"BDE", "BDI", "BDR", "BLQ", "CO", "FC", "IDC", "LDI", "OEC", "PAR", "PO"}
    assert not any(type_ == "EST" for type_, _ in TABLE)  # reversal is handled by the parser
    for (type_, number), info in TABLE.items():
        assert len(number) == 2 and number.isdigit(), (type_, number)
        assert isinstance(info.status, Status) and (info.reason is None or isinstance(info.reason, Reason))
        assert info.description and info.description == info.description.strip()


def test_the_table_has_one_row_per_pair() -> None:
    lines = CODES_PATH.read_text(encoding="utf-8").splitlines()[1:]
    assert len([line for line in lines if line]) == len(TABLE)


@pytest.mark.parametrize(
    ("type_", "number", "status", "reason"),
    [
        ("PO", "01", Status.POSTED, None),
        ("CO", "01", Status.POSTED, None),
        ("PAR", "18", Status.POSTED, None),
        ("RO", "01", Status.IN_TRANSIT, None),
        ("FC", "03", Status.IN_TRANSIT, Reason.CARRIER_MISROUTED),
        ("BDE", "69", Status.IN_TRANSIT, Reason.CARRIER_DELAYED),
        ("OEC", "01", Status.OUT_FOR_DELIVERY, None),
        ("OEC", "09", Status.RETURNING, None),
        ("BDE", "01", Status.DELIVERED, None),
        ("BDR", "70", Status.DELIVERED, None),
        ("BDI", "68", Status.AWAITING_PICKUP, None),
        ("LDI", "01", Status.AWAITING_PICKUP, None),
        ("BDE", "02", Status.DELIVERY_FAILED, Reason.CONSIGNEE_ABSENT),
        ("BDE", "07", Status.DELIVERY_FAILED, Reason.ADDRESS_PROBLEM),
        ("BDE", "21", Status.RETURNING, Reason.CONSIGNEE_ABSENT),
        ("BDE", "26", Status.RETURNING, Reason.CONSIGNEE_ABSENT),
        ("BDE", "04", Status.RETURNING, Reason.CONSIGNEE_REFUSED),
        ("BDE", "10", Status.RETURNING, Reason.CONSIGNEE_MOVED),
        ("BDE", "48", Status.RETURNING, Reason.SENDER_REQUEST),
        ("FC", "47", Status.RETURNING, Reason.SENDER_REQUEST),
        ("BLQ", "01", Status.HELD, Reason.SENDER_REQUEST),
        ("BDE", "23", Status.RETURNED, None),
        ("BDE", "29", Status.LOST, Reason.CARRIER_LOST),
        # today's text for 09 is "Objeto ainda não chegou à unidade": a delay, not a loss (never a false claim)
        ("BDE", "09", Status.IN_TRANSIT, Reason.CARRIER_DELAYED),
        ("BDE", "80", Status.LOST, Reason.CARRIER_LOST),
        ("BDI", "50", Status.LOST, Reason.CARRIER_STOLEN),
        ("BDR", "28", Status.IN_TRANSIT, Reason.CARRIER_DAMAGED),
        ("IDC", "01", Status.LOST, Reason.INDEMNIFIED),
        ("PAR", "16", Status.HELD, Reason.CUSTOMS_INSPECTION),
        ("BDE", "54", Status.HELD, Reason.CUSTOMS_TAX_DUE),
        ("BDR", "75", Status.HELD, Reason.CUSTOMS_SEIZED),
    ],
)
def test_key_pairs_map_as_the_reference_says(type_: str, number: str, status: Status, reason: Reason | None) -> None:
    info = lookup(type_, number)
    assert info is not None, (type_, number)
    assert (info.status, info.reason) == (status, reason)


def test_descriptions_are_the_correios_text() -> None:
    assert lookup("BDE", "01") == CodeInfo(Status.DELIVERED, None, "Objeto entregue ao destinatário")
    info = lookup("BDE", "20")
    assert info is not None and info.description.endswith("Será realizada nova tentativa de entrega")


def test_lookup_normalizes_type_and_number() -> None:
    expected = lookup("BDE", "01")
    assert expected is not None
    assert lookup("bde", 1) == lookup(" Bde ", "1") == lookup("BDE", 1) == expected
    assert lookup("PAR", 16) == lookup("par", "16")


@pytest.mark.parametrize(("type_", "number"), [("BDE", "99"), ("XYZ", "01"), ("EST", "01"), ("", ""), ("BDE", "001")])
def test_unknown_pairs_return_none(type_: str, number: str) -> None:
    assert lookup(type_, number) is None


@given(st.sampled_from(sorted(TABLE)), st.sampled_from([str.lower, str.upper, lambda s: f" {s} "]))
def test_every_pair_round_trips_with_int_and_str_numbers(pair: tuple[str, str], case: Callable[[str], str]) -> None:
    type_, number = pair
    expected = TABLE[pair]
    assert lookup(type_, number) == expected
    assert lookup(case(type_), int(number)) == expected
    assert lookup(case(type_), str(int(number))) == expected


@pytest.mark.parametrize("number", ["00", "01", "02", "09", "23", "28", "50"])
def test_bdx_numbers_exist_for_bde_bdi_and_bdr(number: str) -> None:
    assert all(("BD" + kind, number) in TABLE for kind in "EIR"), number


def test_a_bdx_number_means_the_same_under_bde_bdi_and_bdr() -> None:
    for (type_, number), info in TABLE.items():
        if type_ in ("BDI", "BDR") and ("BDE", number) in TABLE:
            other = TABLE["BDE", number]
            assert (info.status, info.reason) == (other.status, other.reason), (type_, number)


def test_load_codes_accepts_a_good_file(tmp_path: Path) -> None:
    table = load_codes(write(tmp_path, GOOD_ROW, 'BDE,09,lost,carrier_lost,"Objeto não localizado"\n'))
    assert table == {
        ("BDE", "01"): CodeInfo(Status.DELIVERED, None, "Objeto entregue ao destinatário"),
        ("BDE", "09"): CodeInfo(Status.LOST, Reason.CARRIER_LOST, "Objeto não localizado"),
    }


@pytest.mark.parametrize(
    ("row", "fragments"),
    [
        ('BDE,02,gone,,"x"\n', ["line 3", "'status'", "'gone'", "one of pending"]),
        ('BDE,02,lost,misplaced,"x"\n', ["line 3", "'reason'", "'misplaced'", "empty or one of carrier_lost"]),
        ('BDE,2,lost,,"x"\n', ["line 3", "'status_number'", "'2'", "2 digits"]),
        ('bde,02,lost,,"x"\n', ["line 3", "'type'", "'bde'", "upper-case"]),
        ('BDE,02,lost,,"  "\n', ["line 3", "'description'", "not blank"]),
        ("BDE,02,lost\n", ["line 3", "3 fields", "expected 5"]),
        (GOOD_ROW, ["line 3", "duplicate pair ('BDE', '01')"]),
    ],
)
def test_load_codes_rejects_a_bad_row_naming_line_column_and_value(
    tmp_path: Path, row: str, fragments: list[str]
) -> None:
    with pytest.raises(ValueError, match=r"^codes\.csv line ") as caught:
        load_codes(write(tmp_path, GOOD_ROW, row))
    for fragment in fragments:
        assert fragment in str(caught.value)


def test_load_codes_rejects_a_wrong_header(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="line 1: header is 'type,number,status,reason,description'"):
        load_codes(write(tmp_path, GOOD_ROW, header="type,number,status,reason,description\n"))


def test_a_multiline_description_counts_physical_lines(tmp_path: Path) -> None:
    path = write(tmp_path, 'BDE,02,lost,,"two\nlines"\n', 'BDE,03,nowhere,,"x"\n')
    with pytest.raises(ValueError, match="line 4: column 'status' has 'nowhere'"):
        load_codes(path)
