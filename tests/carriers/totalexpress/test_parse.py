"""The Total Express parser on plain data: every status of the table, unknown IDs, missing fields, the
"not found" answer as data, and answers of the wrong shape as ContractError."""

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from carriers.base import ContractError, Reason, Status
from carriers.totalexpress.codes import table
from carriers.totalexpress.parse import parse

BRT = ZoneInfo("America/Sao_Paulo")
AWB = "TE0000000001"


def status(code: object, when: str = "2025-03-03 10:00:00", **extra: Any) -> dict[str, Any]:
    return {"CodStatus": code, "DescStatus": "texto", "DataStatus": when, "Cidade": "Cajamar", **extra}


def one(*history: Any, **entry: Any) -> dict[str, Any]:
    return {"AWB": AWB, "Pedido": "1001", "Historico": list(history), **entry}


@pytest.mark.parametrize("code", sorted(table(), key=int))
def test_every_status_of_the_table_is_read_with_its_meaning(code: str) -> None:
    info = table()[code]
    [result] = parse([one(status(int(code)))])
    [event] = result.events
    assert (event.code, event.status, event.reason, event.known_code) == (code, info.status, info.reason, True)
    assert result.problems == ()


def test_a_delivered_parcel_oldest_first_in_local_time() -> None:
    payload = [
        one(
            status(1, "2025-03-05 14:40:00", DescStatus="ENTREGA REALIZADA", Cidade=" Rio de Janeiro "),
            status(83, "2025-03-03 09:12:00", DescStatus="COLETA REALIZADA"),
            status("104", "05/03/2025 08:00", DescStatus="PROCESSO DE ENTREGA"),
            status(102, "2025-03-03T18:30:00"),
        )
    ]
    [result] = parse(payload)
    assert result.tracking_code == AWB and result.status is Status.DELIVERED and result.error is None
    assert [e.code for e in result.events] == ["83", "102", "104", "1"]
    assert result.events[0].occurred_at == datetime(2025, 3, 3, 9, 12, tzinfo=BRT)
    assert result.events[0].occurred_at.utcoffset() is not None
    assert result.events[2].occurred_at == datetime(2025, 3, 5, 8, 0, tzinfo=BRT)
    assert result.events[-1].location == "Rio de Janeiro"
    assert result.events[-1].description == "ENTREGA REALIZADA"


def test_a_time_with_an_offset_keeps_it() -> None:
    [result] = parse([one(status(83, "2025-03-03T12:00:00+00:00"))])
    assert result.events[0].occurred_at == datetime(2025, 3, 3, 9, 0, tzinfo=BRT)


def test_the_status_list_says_lost_stolen_and_indemnified() -> None:
    [lost, stolen] = parse(
        [
            one(status(83, "2025-03-03 09:00:00"), status(23, "2025-03-10 09:00:00"), status(10, "2025-04-01 09:00")),
            {"AWB": "TE0000000002", "Historico": [status(27)]},
        ]
    )
    assert lost.status is Status.LOST and lost.events[-1].reason is Reason.INDEMNIFIED
    assert lost.events[1].reason is Reason.CARRIER_LOST
    assert stolen.tracking_code == "TE0000000002" and stolen.events[0].reason is Reason.CARRIER_STOLEN


def test_a_return_leg_keeps_the_parcel_returning_then_returned() -> None:
    history = [status(102, "2025-03-03 10:00"), status(9, "2025-03-04 10:00"), status(102, "2025-03-05 10:00")]
    [returning] = parse([one(*history)])
    assert returning.status is Status.RETURNING
    [returned] = parse([one(*history, status(61, "2025-03-06 10:00"))])
    assert returned.status is Status.RETURNED


def test_an_unknown_id_keeps_the_current_status_and_says_so_without_the_text() -> None:
    payload = [one(status(83, "2025-03-03 09:00"), status(777, "2025-03-03 10:00", DescStatus="RECEBIDO POR FULANO"))]
    [result] = parse(payload)
    _, unknown = result.events
    assert (unknown.code, unknown.status, unknown.reason, unknown.known_code) == ("777", Status.POSTED, None, False)
    assert unknown.description == "RECEBIDO POR FULANO"  # kept on the event, as the carrier wrote it
    [problem] = result.problems
    assert "unknown Total Express status '777'" in problem and "posted" in problem and "FULANO" not in problem


def test_an_unknown_id_first_is_in_transit() -> None:
    [result] = parse([one(status("X1"))])
    assert result.events[0].status is Status.IN_TRANSIT and not result.events[0].known_code


def test_a_missing_description_takes_the_table_text() -> None:
    [result] = parse([one({"CodStatus": 1, "DataStatus": "2025-03-03 10:00:00"})])
    assert result.events[0].description == "ENTREGA REALIZADA" and result.events[0].location is None


@pytest.mark.parametrize(
    ("bad", "says"),
    [
        ({"DescStatus": "x", "DataStatus": "2025-03-03 10:00:00"}, "status #2 has no CodStatus (got None); skipped"),
        (status(""), "status #2 has no CodStatus (got ''); skipped"),
        (status(True), "status #2 has no CodStatus (got True); skipped"),
        (status(1, "ontem"), "status 1 has no valid DataStatus (got 'ontem', expected YYYY-MM-DD HH:MM:SS"),
        (status(1, "2025-03-03"), "status 1 has no valid DataStatus (got '2025-03-03'"),
        ({"CodStatus": 1}, "status 1 has no valid DataStatus (got None"),
        (status(1, {"d": 1}), "status 1 has no valid DataStatus (got dict"),
        ("1;2025-03-03", "status #2 is a str, expected an object; skipped"),
    ],
)
def test_an_unusable_status_is_skipped_and_said(bad: Any, says: str) -> None:
    [result] = parse([one(status(83, "2025-03-03 09:00:00"), bad)])
    assert [e.code for e in result.events] == ["83"]
    [problem] = result.problems
    assert says in problem


def test_keys_are_matched_without_regard_to_case() -> None:
    payload = [{"awb": " te0000000001 ", "historico": [{"codStatus": 104, "dataStatus": "2025-03-03 10:00:00"}]}]
    [result] = parse(payload)
    assert result.tracking_code == AWB and result.status is Status.OUT_FOR_DELIVERY


def test_not_found_is_data_and_polled_again() -> None:
    [result] = parse([{"AWB": AWB, "Pedido": None, "Historico": [], "Mensagem": " AWB não localizada "}])
    assert result.events == () and result.status is Status.PENDING
    assert result.error is not None and (result.error.code, result.error.message) == ("not_found", "AWB não localizada")
    assert result.error.final is False


@pytest.mark.parametrize("entry", [{"AWB": AWB}, {"AWB": AWB, "Historico": None}, {"AWB": AWB, "Historico": []}])
def test_an_entry_with_no_history_and_no_message_is_pending(entry: dict[str, Any]) -> None:
    [result] = parse([entry])
    assert result.status is Status.PENDING and result.error is None and result.events == ()


def test_a_numeric_awb_is_read_as_text() -> None:
    [result] = parse([{"AWB": 12345678, "Historico": [status(1)]}])
    assert result.tracking_code == "12345678"


def test_an_empty_list_is_no_results() -> None:
    assert parse([]) == []


@pytest.mark.parametrize(
    ("payload", "says"),
    [
        ({"encomendas": []}, "expected a JSON list of AWB entries (AWB, Pedido, Historico), got an object with keys"),
        ("erro", "got str"),
        (None, "got NoneType"),
        (["TE0000000001"], "entry #0 is a str, expected an object with AWB"),
        ([{"Pedido": "1001", "Historico": []}], "entry #0 has no AWB (got NoneType, keys ['Historico', 'Pedido'])"),
        ([one(), {"AWB": "", "Historico": []}], "entry #1 has no AWB (got str"),
        ([{"AWB": True}], "entry #0 has no AWB (got bool"),
        ([{"AWB": AWB, "Historico": {"CodStatus": 1}}], "entry #0 (TE0000000001): Historico is a dict, expected"),
    ],
)
def test_an_answer_of_the_wrong_shape_is_a_contract_error(payload: Any, says: str) -> None:
    with pytest.raises(ContractError) as info:
        parse(payload)
    assert says in str(info.value) and str(info.value).startswith("totalexpress: ")
