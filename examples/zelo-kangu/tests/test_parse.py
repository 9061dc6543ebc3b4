"""The Kangu parser: the sample answer, event order and time zones, unknown codes, errors as data, bad shapes."""

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from carriers.base import ContractError, Reason, Status

from zelo_kangu.parse import LOCAL_TZ, parse

SAMPLE = Path(__file__).resolve().parents[1] / "samples" / "tracking.json"
CODE = "KG0012345678"


def parcel(*events: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"parcels": [{"tracking_code": CODE, "events": list(events), **fields}]}


def event(code: str, at: Any = "2026-11-03T10:00:00-03:00", **fields: Any) -> dict[str, Any]:
    return {"code": code, "happened_at": at, **fields}


def test_the_sample_answer_is_normalized_oldest_first() -> None:
    delivered, missing = parse(json.loads(SAMPLE.read_text(encoding="utf-8")))
    assert delivered.tracking_code == CODE and delivered.status is Status.DELIVERED
    assert [(e.code, e.status) for e in delivered.events] == [
        ("POSTADO", Status.POSTED),
        ("EM_TRANSITO", Status.IN_TRANSIT),
        ("SAIU_PARA_ENTREGA", Status.OUT_FOR_DELIVERY),
        ("ENTREGUE", Status.DELIVERED),
    ]
    assert delivered.events[0].occurred_at == datetime(2026, 11, 2, 12, 10, tzinfo=UTC)
    assert delivered.events[-1].location == "Campinas/SP"
    assert delivered.expected_delivery == date(2026, 11, 6)
    assert delivered.error is None and delivered.problems == ()
    assert missing.status is Status.PENDING and missing.events == ()
    assert missing.error is not None and (missing.error.code, missing.error.final) == ("not_found", False)


def test_a_time_without_an_offset_is_sao_paulo_time() -> None:
    (result,) = parse(parcel(event("POSTADO", "2026-11-03T10:00:00")))
    assert result.events[0].occurred_at == datetime(2026, 11, 3, 10, tzinfo=LOCAL_TZ)


def test_incident_codes_carry_their_reason_and_pickup_deadline() -> None:
    (result,) = parse(
        parcel(
            event("DESTINATARIO_AUSENTE", "2026-11-03T10:00:00-03:00"),
            event("DISPONIVEL_RETIRADA", "2026-11-04T09:00:00-03:00", pickup_until="2026-11-11T18:00:00-03:00"),
        )
    )
    absent, pickup = result.events
    assert (absent.status, absent.reason) == (Status.DELIVERY_FAILED, Reason.CONSIGNEE_ABSENT)
    assert pickup.status is Status.AWAITING_PICKUP
    assert pickup.pickup_deadline == datetime(2026, 11, 11, 21, tzinfo=UTC)


def test_an_unknown_code_keeps_the_status_before_it_and_says_so() -> None:
    (result,) = parse(
        parcel(event("POSTADO", "2026-11-02T10:00:00-03:00"), event("NOVO_STATUS", description="Algo novo"))
    )
    unknown = result.events[-1]
    assert (unknown.code, unknown.status, unknown.known_code) == ("NOVO_STATUS", Status.POSTED, False)
    assert unknown.description == "Algo novo"
    assert result.problems == ("unknown Kangu event code 'NOVO_STATUS'; kept as posted",)


def test_an_event_without_a_readable_time_is_skipped_and_reported() -> None:
    (result,) = parse(parcel(event("POSTADO", "ontem"), event("EM_TRANSITO")))
    assert [e.code for e in result.events] == ["EM_TRANSITO"]
    assert result.problems == ("events[0] ('POSTADO') has no valid 'happened_at' (expected an ISO 8601 time); skipped",)


@pytest.mark.parametrize(("code", "final"), [("invalid_code", True), ("not_found", False), ("busy", False)])
def test_an_error_is_data_and_only_an_invalid_code_stops_polling(code: str, final: bool) -> None:
    (result,) = parse({"parcels": [{"tracking_code": CODE, "error": {"code": code, "message": "x"}}]})
    assert result.error is not None and (result.error.code, result.error.final) == (code, final)


def test_an_error_beside_events_keeps_the_events() -> None:
    (result,) = parse(parcel(event("POSTADO"), error={"code": "not_found"}))
    assert result.error is None and result.status is Status.POSTED
    assert result.problems == ("error 'not_found' came with tracking events; the events are kept",)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ([], "expected a JSON object with a 'parcels' list, got a list"),
        ({"objetos": []}, "expected a JSON object with a 'parcels' list, got an object with keys ['objetos']"),
        ({"parcels": [{"events": []}]}, "parcels[0] is not an object with a 'tracking_code': got an object"),
    ],
)
def test_an_answer_of_another_shape_is_a_contract_error(payload: Any, message: str) -> None:
    with pytest.raises(ContractError, match="kangu: ") as raised:
        parse(payload)
    assert message in str(raised.value)
