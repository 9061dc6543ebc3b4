"""HTTP details a client developer meets: Allow on 405, an unknown status filter, the replay header of an
Idempotency-Key, a compressed body, an over-long webhook-id."""

import gzip
import json

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from carriers.correios.s10 import make_code
from tests.tracker.ingest.conftest import Erp
from tracker.models import Shipment

Headers = dict[str, dict[str, str]]


def one(n: int) -> dict[str, str]:
    return {"external_id": f"PED-{n}", "carrier": "correios", "tracking_code": make_code("SS", n)}


async def test_405_allows_every_method_of_the_path(http: httpx.AsyncClient, keys: Headers) -> None:
    answer = await http.delete("/v1/shipments", headers=keys["writer"])  # GET and POST come from two routers
    assert answer.status_code == 405
    assert answer.headers["allow"] == "GET, POST"
    assert answer.headers["content-type"] == "application/problem+json"
    assert (await http.get("/v1/webhooks/erp")).headers["allow"] == "POST"
    incident = await http.put("/v1/incidents/1", headers=keys["writer"])
    assert incident.headers["allow"] == "GET, PATCH"


async def test_an_unknown_status_filter_is_a_422_naming_the_value_and_the_statuses(
    erp: Erp, http: httpx.AsyncClient, keys: Headers
) -> None:
    await erp.push([one(1)])
    answer = await http.get("/v1/shipments", params={"status": "entregue"}, headers=keys["reader"])
    assert answer.status_code == 422
    [error] = answer.json()["errors"]
    assert error["field"] == "status" and "'entregue'" in error["message"]
    assert "'pending'" in error["message"] and "'delivered'" in error["message"] and "'held'" in error["message"]
    found = await http.get("/v1/shipments", params={"status": "pending"}, headers=keys["reader"])
    assert [s["external_id"] for s in found.json()["shipments"]] == ["PED-1"]


async def test_a_replayed_idempotency_key_answer_says_so(erp: Erp, http: httpx.AsyncClient, keys: Headers) -> None:
    headers = keys["writer"] | {"Idempotency-Key": "k-replay"}
    first = await http.post("/v1/shipments", json=one(1), headers=headers)
    assert first.status_code == 201 and "idempotent-replayed" not in first.headers
    again = await http.post("/v1/shipments", json=one(1), headers=headers)
    assert (again.status_code, again.json()) == (201, first.json())
    assert again.headers["idempotent-replayed"] == "true"
    fresh = await http.post("/v1/shipments", json=one(1), headers=keys["writer"])  # no key: new work, no header
    assert fresh.status_code == 200 and "idempotent-replayed" not in fresh.headers


async def test_a_gzip_body_is_a_415_not_a_signature_mismatch(
    erp: Erp, http: httpx.AsyncClient, keys: Headers, sessions: async_sessionmaker[AsyncSession]
) -> None:
    raw = json.dumps({"type": "shipment.upsert", "data": {"shipments": [one(1)]}}).encode()
    packed = gzip.compress(raw)
    for signed in (raw, packed):  # signed over what was compressed, or over the bytes as sent: refused alike
        headers = erp.signed(signed) | {"content-encoding": "gzip"}
        answer = await http.post("/v1/webhooks/erp", content=packed, headers=headers)
        assert answer.status_code == 415
        assert answer.json()["errors"][0]["field"] == "Content-Encoding"
        assert "'gzip' is not accepted; expected an uncompressed body" in answer.json()["detail"]
        assert answer.headers["accept-encoding"] == "identity"
    plain = await http.post("/v1/webhooks/erp", content=raw, headers=erp.signed(raw) | {"content-encoding": "identity"})
    assert plain.status_code == 202
    api = await http.post(
        "/v1/shipments", content=gzip.compress(json.dumps(one(2)).encode()),
        headers=keys["writer"] | {"content-encoding": "gzip", "content-type": "application/json"},
    )  # fmt: skip
    assert api.status_code == 415
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Shipment)) == 1


async def test_an_overlong_webhook_id_has_its_own_message(erp: Erp, http: httpx.AsyncClient) -> None:
    body = json.dumps({"type": "shipment.upsert", "data": {"shipments": [one(1)]}}).encode()
    answer = await http.post("/v1/webhooks/erp", content=body, headers=erp.signed(body, msg_id="m" * 300))
    assert answer.status_code == 400
    problem = answer.json()
    assert problem["title"] == "webhook-id too long"
    assert problem["errors"] == [
        {"field": "webhook-id", "message": problem["detail"]},
    ]
    assert "300 characters long; expected at most 255 characters" in problem["detail"]
