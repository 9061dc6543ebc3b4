"""The incidents API on SQLite and PostgreSQL: filters, overdue SLA, pagination, outage guards, detail with
history, and the lifecycle by PATCH."""

from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.tracker.detector.conftest import Seed
from tests.tracker.detector.test_sweep import silent_parcels
from tracker.clock import SimulatedClock
from tracker.detector.service import Detector
from tracker.detector.sweep import sweep
from tracker.models import CarrierAccount
from tracker.vault import Vault

Sessions = async_sessionmaker[AsyncSession]
Headers = dict[str, dict[str, str]]


async def listed(http: httpx.AsyncClient, keys: Headers, **params: Any) -> list[dict[str, Any]]:
    response = await http.get("/v1/incidents", params=params, headers=keys["reader"])
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["incidents"]
    return items


async def test_each_filter(http: httpx.AsyncClient, keys: Headers, seed: Seed) -> None:
    stalled = await seed.incident()
    parcel = await seed.shipment()
    lost = await seed.incident(parcel, "lost", status="triaged", owner="claims", severity="high")
    refused = await seed.incident(parcel, "refused")
    loggi = await seed.incident(await seed.shipment("loggi"), "delayed", owner="customer_care")

    async def ids(**params: Any) -> list[int]:
        return [i["id"] for i in await listed(http, keys, **params)]

    assert await ids() == [loggi, refused, lost, stalled]  # newest first
    assert await ids(kind="lost") == [lost]
    assert await ids(status="triaged") == [lost]
    assert await ids(status="open") == [loggi, refused, stalled]
    assert await ids(carrier="loggi") == [loggi]
    assert await ids(carrier="correios", owner="ops") == [refused, stalled]
    assert await ids(owner="claims") == [lost]
    assert await ids(shipment_id=parcel) == [refused, lost]
    assert await ids(shipment_id=parcel, kind="delayed") == []
    [item] = await listed(http, keys, kind="lost")
    assert (item["shipment_id"], item["carrier"], item["external_id"]) == (parcel, "correios", "order-2")
    assert item["tracking_code"].startswith("SS") and item["trigger"] == "lost:test"
    assert (item["severity"], item["owner"], item["overdue"], item["reopened_count"]) == ("high", "claims", False, 0)
    assert item["opened_at"] == "2026-11-02T11:00:00Z" and item["triage_due_at"] == "2026-11-02T21:00:00Z"
    for bad in ({"kind": "late"}, {"status": "closed"}, {"shipment_id": 0}, {"limit": 501}, {"limit": 0}):
        response = await http.get("/v1/incidents", params=bad, headers=keys["reader"])
        assert response.status_code == 422 and response.json()["errors"][0]["field"] == next(iter(bad))


async def test_overdue_means_open_past_the_triage_deadline(
    http: httpx.AsyncClient, keys: Headers, seed: Seed, clock: SimulatedClock
) -> None:
    late = await seed.incident()
    await seed.incident(status="triaged")  # past its deadline too, but in hand
    clock.advance(timedelta(hours=5))
    fresh = await seed.incident()
    assert await listed(http, keys, overdue=True) == []
    clock.advance(timedelta(hours=5, seconds=1))  # the first two are past their 10 hours, the third is not
    assert [i["id"] for i in await listed(http, keys, overdue=True)] == [late]
    flags = {i["id"]: i["overdue"] for i in await listed(http, keys)}
    assert flags[late] and not flags[fresh] and sum(flags.values()) == 1
    assert await listed(http, keys, overdue=True, kind="lost") == []


async def test_pages_are_stable_while_incidents_open(http: httpx.AsyncClient, keys: Headers, seed: Seed) -> None:
    made = [await seed.incident() for _ in range(5)]
    first = (await http.get("/v1/incidents", params={"limit": 2}, headers=keys["reader"])).json()
    assert [i["id"] for i in first["incidents"]] == [made[4], made[3]]
    await seed.incident()  # a new one, newer than every page: it never shifts the pages already started
    second = (
        await http.get("/v1/incidents", params={"limit": 2, "cursor": first["next_cursor"]}, headers=keys["reader"])
    ).json()
    third = (
        await http.get("/v1/incidents", params={"limit": 2, "cursor": second["next_cursor"]}, headers=keys["reader"])
    ).json()
    assert [i["id"] for i in second["incidents"] + third["incidents"]] == [made[2], made[1], made[0]]
    assert third["next_cursor"] is None
    everything = (await http.get("/v1/incidents", headers=keys["reader"])).json()
    assert len(everything["incidents"]) == 6 and everything["next_cursor"] is None  # default limit 100
    bad = await http.get("/v1/incidents", params={"cursor": "bm90LWEtY3Vyc29y"}, headers=keys["reader"])
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "cursor"


async def test_the_outage_guard_is_visible(
    http: httpx.AsyncClient, keys: Headers, sessions: Sessions, clock: SimulatedClock, vault: Vault
) -> None:
    clock.advance(timedelta(days=4))
    await silent_parcels(sessions, vault, clock.now(), 1)
    await sweep(sessions, Detector(), clock.now())
    page = (await http.get("/v1/incidents", headers=keys["reader"])).json()
    assert [i["kind"] for i in page["incidents"]] == ["stalled"] and page["outage_guards"] == []
    last_success = clock.now() - timedelta(hours=1)
    async with sessions() as session, session.begin():
        await session.execute(
            update(CarrierAccount).values(
                circuit_open_until=clock.now() + timedelta(minutes=5),
                consecutive_failures=5,
                last_error="HTTP 503",
                last_success_at=last_success,
            )
        )
    [guard] = (await http.get("/v1/incidents", headers=keys["reader"])).json()["outage_guards"]
    assert (guard["carrier_account"], guard["carrier"]) == ("main", "correios")
    assert "circuit open" in guard["reason"] and "HTTP 503" in guard["reason"]
    assert guard["since"] == last_success.isoformat().replace("+00:00", "Z")
    clock.advance(timedelta(minutes=6))  # the circuit half-opens; the failures still count
    [guard] = (await http.get("/v1/incidents", headers=keys["reader"])).json()["outage_guards"]
    assert guard["reason"].startswith("5 consecutive failed calls")


async def test_detail_with_its_history_oldest_first(http: httpx.AsyncClient, keys: Headers, seed: Seed) -> None:
    incident = await seed.incident(kind="lost")
    url = f"/v1/incidents/{incident}"
    await http.patch(url, json={"owner": "ana", "note": "calling the agency"}, headers=keys["writer"])
    await http.patch(url, json={"note": "the agency does not answer"}, headers=keys["writer"])
    detail = (await http.get(url, headers=keys["reader"])).json()
    assert (detail["id"], detail["kind"], detail["owner"], detail["status"]) == (incident, "lost", "ana", "open")
    assert detail["evidence"] == {"silent_business_days": 3} and detail["tracking_code"].startswith("SS")
    changes = [(c["actor"], c["action"], c["from_status"], c["to_status"], c["note"]) for c in detail["changes"]]
    assert changes == [
        ("detector", "opened", None, "open", None),
        ("writer", "assigned", "open", "open", "owner ops → ana; calling the agency"),
        ("writer", "noted", "open", "open", "the agency does not answer"),
    ]
    assert detail["changes"][1]["at"] == "2026-11-02T11:00:00Z"


async def test_the_lifecycle_by_patch(http: httpx.AsyncClient, keys: Headers, seed: Seed) -> None:
    url = f"/v1/incidents/{await seed.incident()}"
    triaged = (await http.patch(url, json={"status": "triaged", "owner": "ana"}, headers=keys["writer"])).json()
    assert (triaged["status"], triaged["owner"], triaged["triaged_at"]) == ("triaged", "ana", "2026-11-02T11:00:00Z")
    waiting = await http.patch(url, json={"status": "waiting_carrier", "note": "PI 123"}, headers=keys["writer"])
    assert waiting.status_code == 200 and waiting.json()["status"] == "waiting_carrier"
    missing = await http.patch(url, json={"status": "resolved", "root_cause": "carrier_delay"}, headers=keys["writer"])
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "outcome"
    assert "delivered_after_all" in missing.json()["detail"]
    missing = await http.patch(url, json={"status": "resolved", "outcome": "resent"}, headers=keys["writer"])
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "root_cause"
    assert "carrier_delay" in missing.json()["detail"]
    done = await http.patch(
        url,
        json={"status": "resolved", "outcome": "resent", "root_cause": "carrier_loss", "note": "resent by PAC"},
        headers=keys["writer"],
    )
    body = done.json()
    assert (body["status"], body["outcome"], body["root_cause"]) == ("resolved", "resent", "carrier_loss")
    assert (body["resolved_by"], body["resolution_note"], body["overdue"]) == ("writer", "resent by PAC", False)
    illegal = await http.patch(url, json={"status": "triaged"}, headers=keys["writer"])
    assert illegal.status_code == 422 and illegal.json()["errors"][0]["field"] == "status"
    assert "resolved cannot become triaged; allowed: ['open']" in illegal.json()["detail"]
    reopened = (await http.patch(url, json={"status": "open"}, headers=keys["writer"])).json()
    assert (reopened["status"], reopened["reopened_count"], reopened["outcome"]) == ("open", 1, None)
    assert reopened["root_cause"] is reopened["resolved_at"] is reopened["resolved_by"] is None
    actions = [(c["action"], c["actor"]) for c in reopened["changes"]]
    assert actions == [("opened", "detector")] + [
        (a, "writer") for a in ("assigned", "triaged", "waiting", "resolved", "reopened")
    ]
    assert reopened["changes"][3]["note"] == "triaged → waiting_carrier; PI 123"


async def test_assigning_alone(http: httpx.AsyncClient, keys: Headers, seed: Seed) -> None:
    url = f"/v1/incidents/{await seed.incident(status='waiting_customer')}"
    body = (await http.patch(url, json={"owner": "bia"}, headers=keys["writer"])).json()
    assert (body["owner"], body["status"]) == ("bia", "waiting_customer")
    assert body["changes"][-1]["action"] == "assigned" and body["changes"][-1]["note"] == "owner ops → bia"
    assert (await http.get("/v1/incidents", params={"owner": "bia"}, headers=keys["reader"])).json()["incidents"]


async def test_refusals(http: httpx.AsyncClient, keys: Headers, seed: Seed) -> None:
    url = f"/v1/incidents/{await seed.incident()}"
    assert (await http.patch(url, json={"status": "triaged"}, headers=keys["reader"])).status_code == 403
    assert (await http.patch(url, json={"status": "triaged"})).status_code == 401
    assert (await http.get(url)).status_code == 401
    assert (await http.get("/v1/incidents/999999", headers=keys["reader"])).status_code == 404
    gone = await http.patch("/v1/incidents/999999", json={"status": "triaged"}, headers=keys["writer"])
    assert gone.status_code == 404 and gone.headers["content-type"] == "application/problem+json"
    for body, field in (
        ({"colour": "red"}, "colour"),
        ({"status": "closed"}, "status"),
        ({"owner": ""}, "owner"),
        ({"note": "x" * 2001}, "note"),
        ({"outcome": "refunded"}, "outcome"),
        ({"status": "triaged", "root_cause": "fraud"}, "root_cause"),
    ):
        refused = await http.patch(url, json=body, headers=keys["writer"])
        assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == field, body
    unchanged = (await http.get(url, headers=keys["reader"])).json()
    assert unchanged["status"] == "open" and [c["action"] for c in unchanged["changes"]] == ["opened"]


async def test_the_shipment_detail_lists_its_incidents(http: httpx.AsyncClient, keys: Headers, seed: Seed) -> None:
    incident = await seed.incident()
    [item] = await listed(http, keys)
    detail = (await http.get(f"/v1/shipments/{item['shipment_id']}", headers=keys["reader"])).json()
    assert [(i["id"], i["kind"], i["status"]) for i in detail["incidents"]] == [(incident, "stalled", "open")]
