"""The Melhor Envio tracking parser on plain dicts: milestones, every status of the table, unknown statuses,
missing fields, not-found answers and malformed shapes."""

from datetime import UTC, datetime
from typing import Any

import pytest

from carriers.base import ContractError, Reason, Status
from carriers.melhorenvio import SPEC
from carriers.melhorenvio.codes import table
from carriers.melhorenvio.ids import check_code
from carriers.melhorenvio.parse import LOCAL_TZ, parse, parse_order

ID = "76343a9b-efd6-44dc-9584-59b0d0a48a26"
CODE = ID.upper()


def order(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": ID,
        "protocol": "ORD-202303122478",
        "status": "released",
        "tracking": "ME23002MI63BR",
        "melhorenvio_tracking": "ME23002MI63BR",
        "created_at": "2023-03-08 01:02:20",
        "paid_at": "2023-03-08 01:23:27",
        "generated_at": None,
        "posted_at": None,
        "delivered_at": None,
        "canceled_at": None,
        "expired_at": None,
    }
    return base | fields


def test_one_event_per_dated_milestone_in_local_time() -> None:
    payload = {
        ID: order(
            status="delivered",
            generated_at="2023-03-08 01:26:56",
            posted_at="2023-03-09 10:00:00",
            delivered_at="2023-03-11 14:30:00",
        )
    }
    (result,) = parse(payload)
    assert result.tracking_code == CODE
    assert [(e.code, e.status) for e in result.events] == [
        ("ME-created", Status.PENDING),
        ("ME-released", Status.PENDING),
        ("ME-generated", Status.PENDING),
        ("ME-posted", Status.POSTED),
        ("ME-delivered", Status.DELIVERED),
    ]
    assert result.events[0].occurred_at == datetime(2023, 3, 8, 1, 2, 20, tzinfo=LOCAL_TZ)
    assert result.events[-1].occurred_at.utcoffset() is not None
    assert result.status is Status.DELIVERED
    assert result.problems == ()
    assert result.events[3].detail == "rastreio ME23002MI63BR"
    assert result.events[3].raw == {"milestone": "posted_at", "posted_at": "2023-03-09 10:00:00", "status": "delivered"}


def test_a_time_with_an_offset_is_kept_as_given() -> None:
    (result,) = parse({ID: order(status="posted", posted_at="2023-03-09T13:00:00+00:00")})
    assert result.events[-1].occurred_at == datetime(2023, 3, 9, 13, 0, tzinfo=UTC)


def test_the_same_answer_twice_gives_the_same_event_identities() -> None:
    payload = {ID: order(status="undelivered", posted_at="2023-03-09 10:00:00", updated_at="2023-03-12 09:00:00")}
    first, again = parse(payload)[0], parse(payload)[0]
    assert [(e.occurred_at, e.code) for e in first.events] == [(e.occurred_at, e.code) for e in again.events]


@pytest.mark.parametrize("code", sorted(table()))
def test_every_status_of_the_table_is_read(code: str) -> None:
    status = code.lower()
    (result,) = parse({ID: {"id": ID, "status": status, "updated_at": "2023-03-10 08:00:00"}})
    info = table()[code]
    latest = result.events[-1]
    assert latest.code == f"ME-{status}"
    assert (latest.status, latest.reason, latest.known_code) == (info.status, info.reason, True)
    assert latest.description == info.description
    assert result.problems == ()


def test_the_table_maps_melhor_envios_statuses_as_documented() -> None:
    meanings = {code.lower(): (info.status, info.reason) for code, info in table().items()}
    assert meanings["posted"] == (Status.POSTED, None)
    assert meanings["delivered"] == (Status.DELIVERED, None)
    assert meanings["undelivered"] == (Status.RETURNING, None)
    assert meanings["canceled"] == meanings["cancelled"] == (Status.PENDING, Reason.SENDER_REQUEST)
    assert meanings["expired"] == (Status.PENDING, Reason.OTHER)
    assert meanings["paused"] == meanings["suspended"] == (Status.HELD, Reason.OTHER)
    assert {meanings[s][0] for s in ("pending", "created", "released", "generated", "printed")} == {Status.PENDING}
    assert Status.LOST not in {status for status, _ in meanings.values()}  # Melhor Envio has no lost status


def test_a_status_told_by_its_milestone_date_adds_no_event() -> None:
    (result,) = parse({ID: order(status="posted", posted_at="2023-03-09 10:00:00", updated_at="2023-03-09 11:00:00")})
    assert [e.code for e in result.events] == ["ME-created", "ME-released", "ME-posted"]


def test_a_status_without_a_milestone_is_dated_by_its_own_field_then_updated_at() -> None:
    own = parse({ID: order(status="received", received_at="2023-03-09 09:00:00", updated_at="2023-03-09 12:00:00")})
    assert own[0].events[-1].occurred_at == datetime(2023, 3, 9, 9, 0, tzinfo=LOCAL_TZ)
    updated = parse({ID: order(status="paused", updated_at="2023-03-09 12:00:00")})
    assert (updated[0].events[-1].code, updated[0].events[-1].status) == ("ME-paused", Status.HELD)
    assert updated[0].events[-1].occurred_at == datetime(2023, 3, 9, 12, 0, tzinfo=LOCAL_TZ)


def test_a_status_with_no_date_at_all_is_dated_at_the_latest_milestone_and_said() -> None:
    (result,) = parse({ID: order(status="undelivered", posted_at="2023-03-09 10:00:00")})
    assert [(e.code, e.status) for e in result.events][-2:] == [
        ("ME-posted", Status.POSTED),
        ("ME-undelivered", Status.RETURNING),
    ]
    assert result.events[-1].occurred_at == result.events[-2].occurred_at
    assert result.status is Status.RETURNING
    assert result.problems == (
        "status 'undelivered' has no date of its own (no undelivered_at, no updated_at); dated at ME-posted",
    )


def test_an_unknown_status_keeps_the_parcels_status_and_is_said() -> None:
    (result,) = parse(
        {ID: order(status="in_review", posted_at="2023-03-09 10:00:00", updated_at="2023-03-10 10:00:00")}
    )
    unknown = result.events[-1]
    assert (unknown.code, unknown.status, unknown.known_code) == ("ME-in_review", Status.POSTED, False)
    assert result.problems == ("unknown Melhor Envio status 'in_review'; kept as posted",)


def test_an_unknown_status_with_nothing_before_it_is_in_transit() -> None:
    (result,) = parse({ID: {"status": "mystery", "updated_at": "2023-03-10 10:00:00"}})
    assert (result.events[0].status, result.events[0].known_code) == (Status.IN_TRANSIT, False)


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"status": None}, "the order has no 'status'; only its dated milestones are used"),
        ({"status": 3}, "'status' is 3, expected a Melhor Envio status word; ignored"),
        (
            {"paid_at": "ontem"},
            "paid_at 'ontem' is not a date-time (expected YYYY-MM-DD HH:MM:SS (Brasília) or an ISO 8601 date-time); "
            "ignored",
        ),
        ({"paid_at": 20230308}, "paid_at 20230308 is not a date-time"),
    ],
)
def test_missing_or_bad_fields_are_said_and_the_rest_is_used(fields: dict[str, Any], problem: str) -> None:
    (result,) = parse({ID: order(**fields)})
    assert result.events[0].code == "ME-created"
    assert any(p.startswith(problem) for p in result.problems), result.problems


def test_a_status_and_no_date_at_all_gives_no_event() -> None:
    (result,) = parse({ID: {"id": ID, "status": "pending"}})
    assert result.events == ()
    assert result.status is Status.PENDING
    assert result.problems == ("status 'pending' has no date (no pending_at, no updated_at, no milestone); not kept",)


@pytest.mark.parametrize("value", [None, {"message": "Pedido não encontrado"}, {"error": "Envio não encontrado"}])
def test_an_order_answered_as_not_found_is_data(value: Any) -> None:
    (result,) = parse({ID: value})
    assert result.tracking_code == CODE
    assert result.error is not None and result.error.code == "not_found" and not result.error.final
    assert result.events == ()
    if value:
        assert result.error.message in ("Pedido não encontrado", "Envio não encontrado")


def test_an_empty_answer_is_no_results() -> None:
    assert parse({}) == [] and parse([]) == []


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ([{"id": ID}], "expected a JSON object keyed by Melhor Envio order id, got list"),
        ("ok", "expected a JSON object keyed by Melhor Envio order id, got str"),
        (
            {"message": "The given data was invalid.", "errors": {"orders.0": ["inválido"]}},
            "expected a tracking answer keyed by order id, got an error answer: 'The given data was invalid.'",
        ),
        ({"message": "Unauthenticated."}, "got an error answer: 'Unauthenticated.'"),
        ({ID: "posted"}, f"order '{ID}': expected an order object with 'status' and its dates, got str"),
        ({ID: {"foo": 1}}, "expected an order object with 'status' and its dates, got keys ['foo']"),
    ],
)
def test_malformed_shapes_raise_a_contract_error_naming_what_was_expected(payload: Any, message: str) -> None:
    with pytest.raises(ContractError) as caught:
        parse(payload)
    assert message in str(caught.value)
    assert str(caught.value).startswith("melhorenvio: ")


def test_parse_order_takes_the_code_given() -> None:
    assert parse_order(ID, order()).tracking_code == CODE


@pytest.mark.parametrize("code", [ID, CODE, f" {ID} "])
def test_check_code_takes_a_uuid_in_any_case(code: str) -> None:
    assert check_code(code) is None and SPEC.check_code(code) is None


@pytest.mark.parametrize("code", ["SS123456785BR", "ORD-202303122478", ID[:-1], ID.replace("-", ""), f"{{{ID}}}", ""])
def test_check_code_refuses_anything_else_with_a_clear_sentence(code: str) -> None:
    problem = check_code(code)
    assert problem is not None
    assert problem.startswith(
        f"Melhor Envio order id {code!r} is not valid: expected the Melhor Envio order id, a UUID"
    )
