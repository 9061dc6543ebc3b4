"""The pure Loggi parser: tracking answers and webhook bodies → normalized results."""

from datetime import UTC, date, datetime
from typing import Any

import pytest

from carriers.base import ContractError, Reason, Status
from carriers.loggi import SPEC
from carriers.loggi.codes import table
from carriers.loggi.parse import LOCAL_TZ, NOT_FOUND, not_found, parse, parse_answer, parse_webhook
from tests.carriers.loggi.samples import CODE, KEY, item, journey, package, status


def body(*packages: dict[str, Any]) -> dict[str, Any]:
    return {"packages": list(packages)}


@pytest.mark.parametrize("read", [parse, parse_webhook])
def test_a_whole_journey_oldest_first_with_loggi_codes(read: Any) -> None:
    (result,) = read(body(package(journey())))
    assert result.tracking_code == CODE
    assert result.status is Status.DELIVERED
    assert result.expected_delivery == date(2021, 5, 5)
    assert [(e.code, e.status) for e in result.events] == [
        ("LOGGI-1", Status.PENDING),
        ("LOGGI-2", Status.POSTED),
        ("LOGGI-3", Status.IN_TRANSIT),
        ("LOGGI-4", Status.OUT_FOR_DELIVERY),
        ("LOGGI-5", Status.DELIVERED),
    ]
    delivered = result.events[-1]
    assert delivered.occurred_at == datetime(2021, 5, 5, 10, 40, 18, 941518, tzinfo=UTC)
    assert delivered.description == "O pacote foi recebido no endereço de entrega."
    assert delivered.location == "São Paulo/SP" and delivered.known_code
    assert result.events[2].location == "Cajamar/SP"
    assert result.problems == () and result.error is None


def test_history_given_newest_first_is_put_in_time_order() -> None:
    (result,) = parse(body(package(journey()[::-1])))
    assert [e.code for e in result.events] == ["LOGGI-1", "LOGGI-2", "LOGGI-3", "LOGGI-4", "LOGGI-5"]
    assert result.status is Status.DELIVERED


@pytest.mark.parametrize("code", list(table()))
def test_every_code_of_the_table_is_read_as_its_row(code: str) -> None:
    info = table()[code]
    (result,) = parse_webhook(body(package([item(code, "2021-05-04T10:00:00Z", description=info.description)])))
    (event,) = result.events
    assert (event.code, event.status, event.reason, event.known_code) == (
        f"LOGGI-{code}",
        info.status,
        info.reason,
        True,
    )
    assert result.problems == ()


def test_the_event_code_is_stable_whatever_the_code_s_type_or_spacing() -> None:
    history = [item("5", "2021-05-05T10:40:18Z")]
    history[0]["status"]["code"] = 5
    (as_int,) = parse(body(package(history)))
    history[0]["status"]["code"] = " 5 "
    (spaced,) = parse(body(package(history)))
    assert as_int.events[0].code == spaced.events[0].code == "LOGGI-5"
    assert as_int.events[0] == spaced.events[0]


def test_unknown_codes_keep_the_current_status_and_are_reported() -> None:
    history = [
        item("2", "2021-05-03T18:00:00Z", description="Pacote coletado"),
        item("77", "2021-05-04T10:00:00Z", high="Novidade", description="Status novo"),
    ]
    (result,) = parse(body(package(history)))
    _, unknown = result.events
    assert (unknown.code, unknown.status, unknown.reason, unknown.known_code) == (
        "LOGGI-77",
        Status.POSTED,
        None,
        False,
    )
    assert unknown.description == "Status novo"
    assert result.status is Status.POSTED
    assert result.problems == ("unknown Loggi status code '77' ('Status novo'); kept as posted",)


def test_an_unknown_first_code_is_kept_as_in_transit() -> None:
    (result,) = parse(body(package([item("X9", "2021-05-04T10:00:00Z")])))
    assert result.events[0].status is Status.IN_TRANSIT and not result.events[0].known_code


def test_without_history_the_package_status_is_the_one_event() -> None:
    (result,) = parse_webhook(body(package()))
    (event,) = result.events
    assert (event.code, event.status, event.location) == ("LOGGI-5", Status.DELIVERED, "São Paulo/SP")
    assert event.occurred_at == datetime(2021, 5, 5, 10, 40, 18, 941518, tzinfo=UTC)
    (empty_history,) = parse_webhook(body(package([])))
    assert empty_history.events == result.events


def test_time_beside_the_status_and_local_times_without_offset() -> None:
    history = [{"status": {"code": "3", "description": "Em trânsito"}, "updatedTime": "2021-05-04T09:00:00"}]
    (result,) = parse(body(package(history)))
    assert result.events[0].occurred_at == datetime(2021, 5, 4, 9, 0, tzinfo=LOCAL_TZ)
    assert result.events[0].location is None


def test_action_required_is_the_detail_and_high_level_status_stands_in_for_a_missing_description() -> None:
    history = [item("7", "2021-05-04T10:00:00Z", description="", high="Destinatário ausente", action="Reagendar")]
    (result,) = parse(body(package(history)))
    event = result.events[0]
    assert (event.status, event.reason) == (Status.DELIVERY_FAILED, Reason.CONSIGNEE_ABSENT)
    assert (event.description, event.detail) == ("Destinatário ausente", "Reagendar")


@pytest.mark.parametrize(
    ("bad", "problem"),
    [
        ("not an object", "event #1 has no 'status' object (got str); skipped"),
        ({"location": {}}, "event #1 has no 'status' object (got NoneType); skipped"),
        ({"status": {"updatedTime": "2021-05-04T10:00:00Z"}}, "event #1 has status code None, expected Loggi's code"),
        ({"status": {"code": True, "updatedTime": "2021-05-04T10:00:00Z"}}, "event #1 has status code True"),
        ({"status": {"code": "3"}}, "event #1 (code '3') has updatedTime None, expected an ISO 8601 date-time"),
        ({"status": {"code": "3", "updatedTime": "ontem"}}, "event #1 (code '3') has updatedTime 'ontem'"),
    ],
)
def test_unusable_events_are_skipped_and_said(bad: Any, problem: str) -> None:
    (result,) = parse(body(package([bad, item("5", "2021-05-05T10:40:18Z")])))
    assert [e.code for e in result.events] == ["LOGGI-5"]
    assert len(result.problems) == 1 and result.problems[0].startswith(problem)


def test_missing_optional_fields_leave_no_trace_but_bad_ones_are_said() -> None:
    minimal = {"trackingCode": CODE, "status": {"code": "3", "updatedTime": "2021-05-04T10:00:00Z"}}
    (result,) = parse(body(minimal))
    assert result.expected_delivery is None and result.problems == ()
    assert result.events[0].description == "Pacote em trânsito"  # the table's words when Loggi gives none
    (bad,) = parse(body(package(journey(), promisedDate="amanhã", trackingHistory="x")))
    assert bad.expected_delivery is None
    assert "promisedDate 'amanhã' is not a date (expected YYYY-MM-DD); ignored" in bad.problems
    assert "'trackingHistory' is a str, expected a list; package status used" in bad.problems
    assert [e.code for e in bad.events] == ["LOGGI-5"]


def test_a_promised_date_time_is_read_as_its_local_date() -> None:
    (result,) = parse(body(package(promisedDate="2021-05-06T02:00:00Z")))
    assert result.expected_delivery == date(2021, 5, 5)


def test_a_package_without_status_or_history_is_pending() -> None:
    (result,) = parse(body({"trackingCode": "sh1007503594lg"}))
    assert (result.tracking_code, result.status, result.events) == (CODE, Status.PENDING, ())
    (bad,) = parse(body({"trackingCode": CODE, "status": "Entregue"}))
    assert bad.events == () and bad.problems == ("'status' is a str, expected an object; ignored",)


def test_several_packages_one_result_each() -> None:
    other = package([item("3", "2021-05-04T10:00:00Z")], trackingCode="AB0000000001LG")
    results = parse_webhook(body(package(journey()), other))
    assert [(r.tracking_code, r.status) for r in results] == [
        (CODE, Status.DELIVERED),
        ("AB0000000001LG", Status.IN_TRANSIT),
    ]


def test_not_found_is_data_and_polling_goes_on() -> None:
    result = not_found(CODE, "Pacote não encontrado.")
    assert result.error is not None
    assert (result.error.code, result.error.final) == (NOT_FOUND, False)
    assert result.error.message == f"Loggi has no package {CODE}: Pacote não encontrado."
    assert result.status is Status.PENDING and result.events == ()
    assert not_found(CODE).error.message == f"Loggi has no package {CODE}"  # type: ignore[union-attr]
    assert parse_answer({"packages": []}, CODE) == not_found(CODE)
    assert parse({"packages": []}) == []


def test_the_answer_for_one_code_is_matched_on_tracking_code_or_loggi_key() -> None:
    other = package([item("3", "2021-05-04T10:00:00Z")], trackingCode="AB0000000001LG", loggiKey="K" * 26)
    assert parse_answer(body(other, package(journey())), CODE).status is Status.DELIVERED
    assert parse_answer(body(package(journey()), other), "K" * 26).status is Status.IN_TRANSIT
    by_key = parse_answer(body(package(journey())), KEY)
    assert by_key.tracking_code == KEY and by_key.status is Status.DELIVERED  # keyed as asked
    no_code = package(journey())
    del no_code["trackingCode"]
    assert parse_answer(body(no_code), CODE).status is Status.DELIVERED


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ([], "push body: expected a JSON object with a 'packages' list, got list"),
        ({"pacotes": []}, "push body: expected a JSON object with a 'packages' list, got keys ['pacotes']"),
        ({"packages": {"trackingCode": CODE}}, "expected a JSON object with a 'packages' list, got keys ['packages']"),
        ({"packages": ["SH1007503594LG"]}, "push body: packages[0] is a str, expected a package object"),
        ({"packages": [package(), {"status": status()}]}, "push body: packages[1] has trackingCode None, expected"),
        ({"packages": [package(trackingCode=" ")]}, "push body: packages[0] has trackingCode ' ', expected"),
    ],
)
def test_malformed_push_bodies_are_contract_errors_naming_what_was_expected(payload: Any, message: str) -> None:
    with pytest.raises(ContractError) as info:
        parse_webhook(payload)
    assert message in str(info.value) and str(info.value).startswith("loggi: ")
    with pytest.raises(ContractError, match="tracking answer: "):
        parse(payload)


def test_the_spec_reads_both_shapes() -> None:
    assert SPEC.parse is parse and SPEC.parse_webhook is parse_webhook
    assert SPEC.pushes and SPEC.push_fields == ("webhook_user", "webhook_password")
