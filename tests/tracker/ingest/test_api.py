"""The shipments REST API: API keys and scopes, Idempotency-Key, filters, cursor pagination, detail."""

import asyncio
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from carriers.correios.s10 import make_code
from tests.tracker.ingest.conftest import Erp
from tracker.models import Shipment

Headers = dict[str, dict[str, str]]


def one(n: int, **extra: Any) -> dict[str, Any]:
    return {"external_id": f"PED-{n}", "carrier": "correios", "tracking_code": make_code("SS", n), **extra}


async def test_keys_and_scopes_are_enforced(erp: Erp, http: httpx.AsyncClient, keys: Headers) -> None:
    assert (await http.get("/v1/shipments")).status_code == 401
    bad = await http.get("/v1/shipments", headers={"Authorization": "Bearer zelo_abc_def"})
    assert bad.status_code == 401 and bad.json()["title"] == "Invalid API key"
    assert (await http.get("/v1/shipments", headers=keys["reader"])).status_code == 200
    denied = await http.post("/v1/shipments", json=one(1), headers=keys["reader"])
    assert denied.status_code == 403 and "'write' is needed" in denied.json()["detail"]


async def test_post_creates_then_updates_and_idempotency_key_replays(
    erp: Erp, http: httpx.AsyncClient, keys: Headers, sessions: async_sessionmaker[AsyncSession]
) -> None:
    headers = keys["writer"] | {"Idempotency-Key": "k-1"}
    created = await http.post("/v1/shipments", json=one(1, service="SEDEX"), headers=headers)
    assert created.status_code == 201
    assert created.json()["result"]["result"] == "created" and created.json()["shipment"]["service"] == "SEDEX"
    replay = await http.post("/v1/shipments", json=one(1, service="SEDEX"), headers=headers)
    assert (replay.status_code, replay.json()) == (201, created.json())
    conflict = await http.post("/v1/shipments", json=one(1, service="PAC"), headers=headers)
    assert conflict.status_code == 409 and "different body" in conflict.json()["detail"]
    updated = await http.post("/v1/shipments", json=one(1, service="PAC"), headers=keys["writer"])
    assert updated.status_code == 200 and updated.json()["result"]["changed"] == ["service"]
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Shipment)) == 1


async def test_concurrent_requests_with_one_idempotency_key_create_once(
    erp: Erp, http: httpx.AsyncClient, keys: Headers, sessions: async_sessionmaker[AsyncSession]
) -> None:
    headers = keys["writer"] | {"Idempotency-Key": "k-par"}
    answers = await asyncio.gather(*(http.post("/v1/shipments", json=one(5), headers=headers) for _ in range(5)))
    assert {a.status_code for a in answers} <= {201, 409}
    assert sum(a.status_code == 201 for a in answers) >= 1
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Shipment)) == 1


async def test_invalid_shipment_is_a_problem_naming_fields(erp: Erp, http: httpx.AsyncClient, keys: Headers) -> None:
    answer = await http.post("/v1/shipments", json=one(1, destination={"state": "XX"}), headers=keys["writer"])
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in answer.json()["errors"]] == ["destination.state"]
    assert (await http.post("/v1/shipments", content=b"{", headers=keys["writer"])).status_code == 400


async def test_list_filters_and_cursor_pagination(erp: Erp, http: httpx.AsyncClient, keys: Headers) -> None:
    batch = [
        one(n, destination={"state": "SP" if n % 2 else "RJ"}, shipped_at=f"2026-11-0{1 + n % 3}T12:00:00-03:00")
        for n in range(1, 8)
    ]
    await erp.push(batch)
    seen, cursor = [], None
    while True:
        page = await http.get(
            "/v1/shipments", params={"limit": 3, **({"cursor": cursor} if cursor else {})}, headers=keys["reader"]
        )
        seen += [s["external_id"] for s in page.json()["shipments"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"PED-{n}" for n in range(7, 0, -1)]
    rj = await http.get("/v1/shipments", params={"state": "rj"}, headers=keys["reader"])
    assert [s["external_id"] for s in rj.json()["shipments"]] == ["PED-6", "PED-4", "PED-2"]
    day = await http.get(
        "/v1/shipments", params={"shipped_from": "2026-11-02", "shipped_to": "2026-11-02"}, headers=keys["reader"]
    )
    assert [s["external_id"] for s in day.json()["shipments"]] == ["PED-7", "PED-4", "PED-1"]
    code = await http.get("/v1/shipments", params={"tracking_code": make_code("SS", 3).lower()}, headers=keys["reader"])
    assert [s["external_id"] for s in code.json()["shipments"]] == ["PED-3"]
    bad = await http.get("/v1/shipments", params={"cursor": "nope"}, headers=keys["reader"])
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "cursor"


async def test_detail_has_events_and_revisions(erp: Erp, http: httpx.AsyncClient, keys: Headers) -> None:
    [created] = (await erp.push([one(1)])).json()["results"]
    await erp.push([one(1, order_number="9001")])
    detail = await http.get(f"/v1/shipments/{created['id']}", headers=keys["reader"])
    body = detail.json()
    assert body["tracking_code"] == make_code("SS", 1) and body["status"] == "pending" and body["events"] == []
    assert [r["changes"] for r in body["revisions"]] == [{"order_number": [None, "9001"]}]
    missing = await http.get("/v1/shipments/999999", headers=keys["reader"])
    assert missing.status_code == 404 and missing.json()["detail"] == "no shipment with id 999999"


async def test_openapi_and_docs_are_served(http: httpx.AsyncClient) -> None:
    spec = (await http.get("/openapi.json")).json()
    assert {"/v1/webhooks/erp", "/v1/shipments", "/v1/shipments/{shipment_id}"} <= set(spec["paths"])
    assert (await http.get("/docs")).status_code == 200
