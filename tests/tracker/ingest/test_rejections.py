"""What a rejection does on both databases: a careless value is a field error naming the field and what is
expected, it never fails the rest of its batch, and it never echoes a customer's data in clear (answers,
stored receipts, the import's report)."""

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from carriers.correios.s10 import make_code
from tests.tracker.ingest.conftest import Erp
from tracker.clock import SimulatedClock
from tracker.ingest.csv_import import import_csv
from tracker.ingest.models import WebhookReceipt
from tracker.models import Shipment

Sessions = async_sessionmaker[AsyncSession]
Headers = dict[str, dict[str, str]]
CONTROL = ["\x00", "\n", "\r\n", "\t", "\x1b", "\x7f", "\x85", "\u2028"]


def shipment(n: int, **extra: Any) -> dict[str, Any]:
    return {"external_id": f"PED-{n}", "carrier": "correios", "tracking_code": make_code("SS", n), **extra}


def errors(result: dict[str, Any]) -> dict[str, str]:
    return {e["field"]: e["message"] for e in result["errors"]}


async def stored(sessions: Sessions) -> list[str | None]:
    async with sessions() as session:
        return list((await session.scalars(select(Shipment.external_id).order_by(Shipment.id))).all())


@pytest.mark.parametrize("char", CONTROL)
async def test_a_control_character_in_any_text_field_rejects_that_item_only(
    erp: Erp, sessions: Sessions, char: str
) -> None:
    bad = [
        shipment(2, customer={"name": f"Maria{char}Silva"}),
        shipment(3, order_number=f"90{char}01"),  # at either end, whitespace is trimmed
        shipment(4, destination={"city": f"São{char}Paulo"}),
        shipment(5, items=[{"sku": "A1", "quantity": 1, "description": f"Caneca{char}azul"}]),
        shipment(6, service=f"SEDEX{char}10"),
        shipment(7, carrier_account=f"lo{char}ja"),
        {"external_id": f"PED{char}8", "carrier": "correios", "tracking_code": make_code("SS", 8)},
    ]
    answer = await erp.push([shipment(1), *bad, shipment(9)])
    assert answer.status_code == 202, answer.text
    results = answer.json()["results"]
    assert [r["result"] for r in results] == ["created", *["rejected"] * len(bad), "created"]
    fields = ["customer.name", "order_number", "destination.city", "items.0.description"]
    fields += ["service", "carrier_account", "external_id"]
    for result, field in zip(results[1:-1], fields, strict=True):
        assert list(errors(result)) == [field]
        assert errors(result)[field].startswith("expected one line of printable text; found"), errors(result)
    assert await stored(sessions) == ["PED-1", "PED-9"]


async def test_a_control_character_is_a_422_naming_the_field_on_the_api(
    erp: Erp, http: httpx.AsyncClient, keys: Headers, sessions: Sessions
) -> None:
    answer = await http.post("/v1/shipments", json=shipment(1, customer={"name": "Ma\x00ria"}), headers=keys["writer"])
    assert answer.status_code == 422, answer.text
    [error] = answer.json()["errors"]
    assert error["field"] == "customer.name"
    assert error["message"] == "expected one line of printable text; found a NUL (U+0000) at character 3"
    assert await stored(sessions) == []


CARELESS_CUSTOMER = {
    "customer": {"name": "Joana Maria " * 20, "email": "joana.maria@example", "phone": "11 98765-432"},
    "destination": {"postal_code": "0131-010", "city": "Campi\nnas"},
}
IN_CLEAR = ("joana", "Joana Maria", "98765-432", "0131-010", "Campi")  # (the examples in messages are no one's)
MASKED = {  # what each rejection shows instead, and what it expects
    "customer.name": "String should have at most 200 characters; got 'J***'",
    "destination.postal_code": "CEP '01***' is not valid: expected 8 digits, e.g. 01310-100 or 01310100",
    "destination.city": "expected one line of printable text; found a line break (U+000A) at character 6",
}


def in_clear(text: str) -> list[str]:
    return [value for value in IN_CLEAR if value in text]


async def test_rejections_show_a_customers_data_masked_in_answers_and_stored_receipts(
    erp: Erp, sessions: Sessions
) -> None:
    answer = await erp.push([shipment(1, **CARELESS_CUSTOMER)])
    [result] = answer.json()["results"]
    assert errors(result) == MASKED
    assert in_clear(answer.text) == []
    async with sessions() as session:
        [receipt] = (await session.scalars(select(WebhookReceipt.response))).all()
    assert in_clear(json.dumps(receipt)) == [] and receipt == answer.json()


async def test_the_api_problem_shows_a_customers_data_masked(erp: Erp, http: httpx.AsyncClient, keys: Headers) -> None:
    answer = await http.post("/v1/shipments", json=shipment(1, **CARELESS_CUSTOMER), headers=keys["writer"])
    assert answer.status_code == 422
    assert {e["field"]: e["message"] for e in answer.json()["errors"]} == MASKED
    assert in_clear(answer.text) == []


CSV_FIELDS = ("destination.postal_code",)
WARNED = [  # an unusable contact is no rejection: the shipment is stored without it, and its item says why
    "customer.email not stored (the shipment is tracked without it): email 'j***@example' is not valid (The part "
    "after the @-sign is not valid. It should have a period): expected an address such as maria@example.com",
    "customer.phone not stored (the shipment is tracked without it): phone '***5432' is not a phone number: "
    "expected a Brazilian number with its area code, e.g. (11) 91234-5678, or + country code and number",
]


async def test_warnings_show_a_customers_data_masked_in_answers_and_stored_receipts(
    erp: Erp, sessions: Sessions
) -> None:
    contacts = {k: v for k, v in CARELESS_CUSTOMER["customer"].items() if k != "name"}
    answer = await erp.push([shipment(1, customer=contacts)])
    [result] = answer.json()["results"]
    assert (result["result"], result["warnings"]) == ("created", WARNED)
    async with sessions() as session:
        [receipt] = (await session.scalars(select(WebhookReceipt.response))).all()
    assert in_clear(answer.text) == [] and in_clear(json.dumps(receipt)) == []


async def test_the_import_report_shows_a_customers_data_masked(
    tmp_path: Path, sessions: Sessions, clock: SimulatedClock, account_id: int
) -> None:
    path = tmp_path / "envios.csv"
    path.write_text(
        "external_id,carrier,tracking_code,customer_email,customer_phone,destination_postal_code\n"
        f"P1,correios,{make_code('SS', 1)},joana.maria@example,11 98765-4321,0131-010\n",
        encoding="utf-8",
    )
    report = await import_csv(sessions, clock, path, lambda _: None)
    [rejected] = report.rejected
    assert {e.field: e.message for e in rejected.errors} == {k: v for k, v in MASKED.items() if k in CSV_FIELDS}


async def test_a_lone_surrogate_is_a_field_error_and_never_echoed(erp: Erp, sessions: Sessions) -> None:
    items = [b'"external_id": "\\ud800x"', b'"customer": {"name": "\\ud800x"}', b'"order_number": "a\\udfffb"']
    code = make_code("SS", 1).encode()
    shipments = b", ".join(b'{"carrier": "correios", "tracking_code": "%s", %s}' % (code, item) for item in items)
    body = b'{"type": "shipment.upsert", "data": {"shipments": [%s]}}' % shipments
    answer = await erp.http.post("/v1/webhooks/erp", content=body, headers=erp.signed(body))
    assert answer.status_code == 202, answer.text
    results = answer.json()["results"]
    assert [(r["result"], r["external_id"], list(errors(r))) for r in results] == [
        ("rejected", None, ["external_id"]),
        ("rejected", None, ["customer.name"]),
        ("rejected", None, ["order_number"]),
    ]
    assert await stored(sessions) == []


def raw_body(*amounts: str) -> bytes:
    """A webhook body whose shipments' declared values are these JSON number texts, exactly as written."""
    items = [json.dumps(shipment(n)).replace("}", f', "declared_value": {a}}}', 1) for n, a in enumerate(amounts, 1)]
    return b'{"type": "shipment.upsert", "data": {"shipments": [%s]}}' % ", ".join(items).encode()


async def test_money_that_underflows_or_has_more_than_two_decimals_is_a_field_error(
    erp: Erp, sessions: Sessions
) -> None:
    numbers = {  # as a float: 0.0, 130.0, 0.001 (the only one refused before), 150.0, 9999999999.99, 12
        "149.9": "created",
        "1e-400": "rejected",
        "129.999999999999999999": "rejected",
        "0.001": "rejected",
        "1.5E2": "created",
        "9999999999.989999999": "rejected",
        "12": "created",
    }
    body = raw_body(*numbers)
    answer = await erp.http.post("/v1/webhooks/erp", content=body, headers=erp.signed(body))
    results = answer.json()["results"]
    assert [r["result"] for r in results] == list(numbers.values())
    for result, number in zip(results, numbers, strict=True):
        if result["result"] == "rejected":
            message = f"declared_value {Decimal(number)} has more than two decimal places"  # as written: 1E-400
            assert errors(result) == {"declared_value": message}
    async with sessions() as session:
        values = (await session.scalars(select(Shipment.declared_value).order_by(Shipment.id))).all()
    assert [str(v) for v in values] == ["149.90", "150.00", "12.00"]


async def test_the_api_takes_money_exactly_too(erp: Erp, http: httpx.AsyncClient, keys: Headers) -> None:
    one = json.dumps(shipment(1)).replace("}", ', "shipping_cost": 1e-400}', 1)
    headers = keys["writer"] | {"content-type": "application/json"}
    answer = await http.post("/v1/shipments", content=one, headers=headers)
    assert answer.status_code == 422
    assert [e["field"] for e in answer.json()["errors"]] == ["shipping_cost"]
