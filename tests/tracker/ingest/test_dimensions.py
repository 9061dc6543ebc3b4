"""Scorecard dimensions: the shipping warehouse (origin CEP and UF) and the items' product category, through the
API, the webhook and the CSV import, checked like every other field."""

from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from carriers.correios.s10 import make_code
from tests.tracker.ingest.conftest import Erp
from tracker.clock import SimulatedClock
from tracker.ingest.csv_import import import_csv
from tracker.models import Shipment

Headers = dict[str, dict[str, str]]


def one(n: int, **extra: Any) -> dict[str, Any]:
    return {"external_id": f"PED-{n}", "carrier": "correios", "tracking_code": make_code("SS", n), **extra}


async def test_origin_and_category_are_stored_and_shown(erp: Erp, http: httpx.AsyncClient, keys: Headers) -> None:
    items = [{"sku": "A1", "quantity": 1}, {"sku": "B2", "quantity": 2, "category": "eletrônicos"}]
    created = await http.post(
        "/v1/shipments", json=one(1, origin={"postal_code": "20040-020"}, items=items), headers=keys["writer"]
    )
    assert created.status_code == 201, created.text
    shown = (await http.get(f"/v1/shipments/{created.json()['shipment']['id']}", headers=keys["reader"])).json()
    assert shown["origin"] == {"postal_code": "20040020", "state": "RJ"}  # the UF found from the CEP
    assert shown["category"] == "eletrônicos" and shown["items"][1]["category"] == "eletrônicos"
    updated = await http.post("/v1/shipments", json=one(1, origin={"state": "mg"}), headers=keys["writer"])
    assert updated.json()["result"]["changed"] == ["origin_state"]


async def test_bad_origins_and_categories_are_rejected_naming_the_field(
    erp: Erp, http: httpx.AsyncClient, keys: Headers
) -> None:
    mismatch = await http.post(
        "/v1/shipments", json=one(1, origin={"postal_code": "01310-100", "state": "RJ"}), headers=keys["writer"]
    )
    assert mismatch.status_code == 422
    [error] = mismatch.json()["errors"]
    assert error["field"] == "origin" and "does not match its CEP, which is in SP" in error["message"]
    answer = await erp.push(
        [
            one(2, origin={"state": "XX"}),
            one(3, origin={"postal_code": "123"}),
            one(4, items=[{"sku": "A", "quantity": 1, "category": "x" * 51}]),
            one(5, origin={"state": "BA"}, items=[{"sku": "A", "quantity": 1, "category": "casa"}]),
        ]
    )
    results = answer.json()["results"]
    assert [[e["field"] for e in r["errors"]] for r in results] == [
        ["origin.state"],
        ["origin.postal_code"],
        ["items.0.category"],
        [],
    ]
    assert "not a Brazilian UF" in results[0]["errors"][0]["message"]


async def test_the_csv_import_takes_origin_columns_and_a_category(
    tmp_path: Path, sessions: async_sessionmaker[AsyncSession], clock: SimulatedClock, account_id: int
) -> None:
    path = tmp_path / "envios.csv"
    path.write_text(
        "external_id,carrier,tracking_code,origin_postal_code,origin_state,category,items\n"
        f"P1,correios,{make_code('SS', 1)},30130-010,,moda,A1:2|B1:1:Caneca\n"
        f"P2,correios,{make_code('SS', 2)},,pr,,\n"
        f"P3,correios,{make_code('SS', 3)},,ZZ,,\n",
        encoding="utf-8",
    )
    report = await import_csv(sessions, clock, path, lambda n: None)
    assert report.counts["created"] == 2
    assert [(r.index, [e.field for e in r.errors]) for r in report.rejected] == [(4, ["origin.state"])]
    async with sessions() as session:
        rows = (await session.scalars(select(Shipment).order_by(Shipment.id))).all()
    assert [(r.origin_postal_code, r.origin_state, r.category) for r in rows] == [
        ("30130010", "MG", "moda"),
        (None, "PR", None),
    ]
    assert rows[0].items == [
        {"sku": "A1", "quantity": 2, "category": "moda"},
        {"sku": "B1", "quantity": 1, "description": "Caneca", "category": "moda"},
    ]
