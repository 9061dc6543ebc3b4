"""Input that is stored with a warning on its item instead of rejecting the shipment: an unusable contact, dates out
of order or years ahead, a CEP of another state, a date alone as shipped_at."""

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from carriers.correios.s10 import make_code
from tests.tracker.ingest.conftest import Erp
from tracker.ingest.questionable import doubts
from tracker.ingest.schemas import parse_all, parse_item
from tracker.models import Shipment

Sessions = async_sessionmaker[AsyncSession]
NOW = datetime(2026, 11, 2, 11, 0, tzinfo=UTC)  # the clock fixture's


def shipment(n: int = 1, **extra: Any) -> dict[str, Any]:
    return {"external_id": f"PED-{n}", "carrier": "correios", "tracking_code": make_code("SS", n), **extra}


def parsed(**extra: Any) -> Any:
    s, failure = parse_item(0, shipment(**extra))
    assert failure is None and s is not None, failure
    return s


@pytest.mark.parametrize(
    ("customer", "warned"),
    [
        ({"email": "joana.maria@example"}, "customer.email not stored (the shipment is tracked without it): email "),
        ({"email": 5}, "customer.email not stored (the shipment is tracked without it): expected text, got int"),
        ({"phone": "9999"}, "customer.phone not stored (the shipment is tracked without it): phone '***' is not a"),
        ({"phone": ["11", "98765-4321"]}, "customer.phone not stored (the shipment is tracked without it): expected"),
    ],
)
def test_an_unusable_contact_is_dropped_with_a_warning_not_a_rejection(customer: dict[str, Any], warned: str) -> None:
    s = parsed(customer={"name": "Joana", **customer})
    [warning] = s.contact_warnings()
    assert warning.startswith(warned), warning
    given = next(iter(customer.values()))
    assert isinstance(given, int) or str(given) not in warning  # masked
    columns = s.columns()
    assert (columns["customer_email"], columns["customer_phone"], columns["customer_name"]) == (None, None, "Joana")


def test_a_phone_as_an_erp_writes_it_is_stored_as_e164_even_as_a_json_number() -> None:
    for phone in ("(11) 98765-4321", "11987654321", "5511987654321", 5511987654321, "+55١١987654321"):
        s = parsed(customer={"phone": phone})
        assert (s.columns()["customer_phone"], s.contact_warnings()) == ("+5511987654321", []), phone


def test_the_one_pass_parse_drops_and_warns_as_item_by_item() -> None:
    raw = shipment(customer={"email": "x@", "phone": "(11) 98765-4321"}, shipped_at="2026-11-30")
    [fast] = parse_all(json.dumps({"type": "shipment.upsert", "data": {"shipments": [raw]}}).encode()) or []
    alone = parsed(customer=raw["customer"], shipped_at="2026-11-30")
    assert fast.columns() == alone.columns() and fast.contact_warnings() == alone.contact_warnings()
    assert fast.columns()["customer_phone"] == "+5511987654321" and len(fast.contact_warnings()) == 1


@pytest.mark.parametrize(
    ("state", "utc"),
    [
        ("SP", datetime(2026, 11, 30, 3, 0, tzinfo=UTC)),
        ("AC", datetime(2026, 11, 30, 5, 0, tzinfo=UTC)),
        ("AM", datetime(2026, 11, 30, 4, 0, tzinfo=UTC)),
        ("PE", datetime(2026, 11, 30, 3, 0, tzinfo=UTC)),
        (None, datetime(2026, 11, 30, 3, 0, tzinfo=UTC)),  # São Paulo's day
    ],
)
def test_a_date_alone_as_shipped_at_is_the_start_of_that_day_at_the_destination(
    state: str | None, utc: datetime
) -> None:
    s = parsed(shipped_at="2026-11-30", destination={"state": state} if state else None)
    assert s.columns()["shipped_at"] == utc


def test_a_shipped_at_with_its_offset_is_kept_as_sent() -> None:
    s = parsed(shipped_at="2026-11-30T00:00:00-03:00", destination={"state": "AC"})
    assert s.columns()["shipped_at"] == datetime(2026, 11, 30, 3, 0, tzinfo=UTC)


def test_dates_out_of_order_or_years_ahead_are_doubted_with_the_bound() -> None:
    s = parsed(shipped_at="2026-11-30", promised_delivery_date="2026-11-20", destination={"state": "SP"})
    assert doubts(s, NOW) == [
        "promised_delivery_date 2026-11-20 is before shipped_at's day 2026-11-30: stored as given; "
        "expected a promise on or after the shipping day"
    ]
    [shipped] = doubts(parsed(shipped_at="2028-11-03T10:00:00-03:00", promised_delivery_date="2028-11-10"), NOW)
    assert shipped.startswith("shipped_at 2028-11-03T10:00:00-03:00 is more than a year (366 days) ahead of today")
    [promised] = doubts(parsed(promised_delivery_date="2028-11-10"), NOW)
    assert promised.startswith("promised_delivery_date 2028-11-10 is more than a year (366 days) after today (2026")
    [late] = doubts(parsed(shipped_at="2026-11-03T10:00:00-03:00", promised_delivery_date="2027-12-01"), NOW)
    assert late.startswith("promised_delivery_date 2027-12-01 is more than a year (366 days) after shipped_at's day")
    fine = parsed(shipped_at="2027-10-30T10:00:00-03:00", promised_delivery_date="2027-11-05")  # within a year
    assert doubts(fine, NOW) == []


def test_the_days_are_compared_at_the_destination_whatever_offset_shipped_at_was_written_in() -> None:
    # 23:30 at -10:00 is already the next day in São Paulo: a promise for the day as written is before it
    late = parsed(shipped_at="2026-11-30T23:30:00-10:00", promised_delivery_date="2026-11-30")
    assert doubts(late, NOW) == [
        "promised_delivery_date 2026-11-30 is before shipped_at's day 2026-12-01: stored as given; "
        "expected a promise on or after the shipping day"
    ]
    assert doubts(parsed(shipped_at="2026-11-30T23:30:00-10:00", promised_delivery_date="2026-12-01"), NOW) == []
    # 367 days after São Paulo's day, 368 after the day as written
    [far] = doubts(parsed(shipped_at="2026-11-30T23:30:00-10:00", promised_delivery_date="2027-12-03"), NOW)
    assert far.startswith("promised_delivery_date 2027-12-03 is more than a year (366 days) after shipped_at's day")
    near = parsed(shipped_at="2026-11-30T23:30:00-10:00", promised_delivery_date="2027-12-02")  # 366 days after
    assert doubts(near, NOW) == []


def test_a_cep_of_another_state_is_doubted_with_both_ranges_and_masked() -> None:
    s = parsed(destination={"postal_code": "20040-002", "state": "SP"})
    assert doubts(s, NOW) == [
        "destination.postal_code '20***' belongs to RJ (20000-000 to 28999-999), not to destination.state SP "
        "(01000-000 to 19999-999): stored as given; check the CEP and the state"
    ]
    assert doubts(parsed(destination={"postal_code": "20040-002", "state": "RJ"}), NOW) == []
    [nowhere] = doubts(parsed(destination={"postal_code": "00500-000", "state": "SP"}), NOW)
    assert "'00***' is in no state's range" in nowhere


async def test_the_webhook_stores_doubtful_shipments_and_warns_each_item(erp: Erp, sessions: Sessions) -> None:
    answer = await erp.push(
        [
            shipment(1, customer={"name": "Joana", "phone": "21 9123", "email": "(21) 97777-6666"}),
            shipment(2, shipped_at="2026-11-30", promised_delivery_date="2026-11-20", destination={"state": "AC"}),
            shipment(3, destination={"postal_code": "20040-002", "state": "SP"}),
            shipment(4, customer={"phone": "(11) 98765-4321"}),
        ]
    )
    assert answer.status_code == 202
    results = answer.json()["results"]
    assert [r["result"] for r in results] == ["created"] * 4
    assert [len(r["warnings"]) for r in results] == [2, 1, 1, 0]
    assert [w.split(" ")[0] for w in results[0]["warnings"]] == ["customer.email", "customer.phone"]
    assert "21 9123" not in answer.text and "97777-6666" not in answer.text  # masked: ***9123, (***
    async with sessions() as session:
        rows = (await session.scalars(select(Shipment).order_by(Shipment.id))).all()
    assert [(r.customer_name, r.customer_email, r.customer_phone) for r in rows[::3]] == [
        ("Joana", None, None),
        (None, None, "+5511987654321"),
    ]
    assert rows[1].shipped_at == datetime(2026, 11, 30, 5, 0, tzinfo=UTC)  # midnight in Rio Branco


async def test_an_update_with_an_unusable_phone_keeps_the_stored_one(erp: Erp, sessions: Sessions) -> None:
    await erp.push([shipment(1, customer={"phone": "11987654321"})])
    answer = await erp.push([shipment(1, customer={"phone": "abc"})])
    [result] = answer.json()["results"]
    assert result["result"] == "unchanged" and result["warnings"][0].startswith("customer.phone not stored")
    async with sessions() as session:
        assert await session.scalar(select(Shipment.customer_phone)) == "+5511987654321"


async def test_the_api_answers_the_warnings_with_the_stored_shipment(
    erp: Erp, http: httpx.AsyncClient, keys: dict[str, dict[str, str]]
) -> None:
    body = shipment(1, customer={"email": "maria@", "phone": "(11) 98765-4321"})
    answer = await http.post("/v1/shipments", json=body, headers=keys["writer"])
    assert answer.status_code == 201, answer.text
    assert answer.json()["result"]["warnings"][0].startswith("customer.email not stored")
    assert answer.json()["shipment"]["customer"] == {
        "name": None,
        "email": None,
        "phone": "+5511987654321",
        "consent": False,
    }
