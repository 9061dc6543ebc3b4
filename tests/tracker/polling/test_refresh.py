"""Refreshing one shipment now (``POST /v1/shipments/{id}/refresh``): through the poller, so the detector judges
what is new; at most once a minute per shipment; answering what changed."""

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from carriers.base import CarrierUnavailable, Reason, Status, TrackingEvent, TrackingResult
from tests.tracker.fake_carrier import FakeCarrier, events
from tests.tracker.ingest.conftest import http, keys  # noqa: F401
from tracker.clock import SimulatedClock
from tracker.models import CarrierAccount, Shipment
from tracker.polling.accounts import add_account
from tracker.shipments.service import NewShipment
from tracker.shipments.service import register as register_shipments
from tracker.vault import Vault

Sessions = async_sessionmaker[AsyncSession]
Headers = dict[str, dict[str, str]]


@pytest.fixture
async def shipment_id(sessions: Sessions, vault: Vault, clock: SimulatedClock, carrier: FakeCarrier) -> int:
    """A shipment on the fake carrier, not due for a day."""
    async with sessions() as session, session.begin():
        account = await add_account(
            session, vault, carrier="fake", name="fake-1", credentials={"key": "k"}, base_url=None, now=clock.now()
        )
        await register_shipments(session, [NewShipment("fake", account.id, "FK1")], clock.now())
        await session.execute(update(Shipment).values(next_poll_at=clock.now() + timedelta(days=1)))
        return (await session.execute(select(Shipment.id))).scalar_one()


def lost_at(clock: SimulatedClock) -> TrackingResult:
    t0 = clock.now() - timedelta(hours=5)
    lost = TrackingEvent(
        occurred_at=t0 + timedelta(hours=2),
        code="BDE-09",
        status=Status.LOST,
        reason=Reason.CARRIER_LOST,
        description="Objeto extraviado",
        location="CAJAMAR/SP",
    )
    return TrackingResult("FK1", (*events(t0, (0, "PO-01", Status.POSTED)), lost))


async def test_a_refresh_polls_now_and_says_what_changed(
    http: httpx.AsyncClient,  # noqa: F811
    keys: Headers,  # noqa: F811
    clock: SimulatedClock,
    carrier: FakeCarrier,
    shipment_id: int,
) -> None:
    carrier.answers["FK1"] = lost_at(clock)
    answer = await http.post(f"/v1/shipments/{shipment_id}/refresh", headers=keys["writer"])
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["shipment_id"], body["tracking_code"], body["error"]) == (shipment_id, "FK1", None)
    assert (body["status_before"], body["status_after"]) == ("pending", "lost")
    assert [(e["code"], e["status"], e["location"]) for e in body["events"]] == [
        ("PO-01", "posted", None),
        ("BDE-09", "lost", "CAJAMAR/SP"),
    ]
    assert body["incidents_opened"] == ["lost"]  # the detector ran, as for a scheduled poll
    assert carrier.calls == [["FK1"]]
    detail = (await http.get(f"/v1/shipments/{shipment_id}", headers=keys["reader"])).json()
    assert [i["kind"] for i in detail["incidents"]] == ["lost"] and detail["status"] == "lost"


async def test_a_second_refresh_within_a_minute_is_a_429_with_retry_after(
    http: httpx.AsyncClient,  # noqa: F811
    keys: Headers,  # noqa: F811
    clock: SimulatedClock,
    carrier: FakeCarrier,
    shipment_id: int,
) -> None:
    carrier.answers["FK1"] = lost_at(clock)
    assert (await http.post(f"/v1/shipments/{shipment_id}/refresh", headers=keys["writer"])).status_code == 200
    clock.advance(timedelta(seconds=20))
    again = await http.post(f"/v1/shipments/{shipment_id}/refresh", headers=keys["writer"])
    assert again.status_code == 429 and again.headers["retry-after"] == "40"
    assert again.headers["content-type"] == "application/problem+json"
    assert again.json()["detail"] == (f"shipment {shipment_id} was polled 20 s ago; a refresh is allowed once per 60 s")
    assert len(carrier.calls) == 1
    clock.advance(timedelta(seconds=40))
    later = await http.post(f"/v1/shipments/{shipment_id}/refresh", headers=keys["writer"])
    assert later.status_code == 200, later.text
    assert later.json()["events"] == [] and later.json()["incidents_opened"] == []
    assert later.json()["status_before"] == later.json()["status_after"] == "lost"


async def test_a_poll_on_the_schedule_counts_against_the_refresh_limit(
    http: httpx.AsyncClient,  # noqa: F811
    keys: Headers,  # noqa: F811
    sessions: Sessions,
    clock: SimulatedClock,
    shipment_id: int,
) -> None:
    async with sessions() as session, session.begin():
        await session.execute(update(Shipment).values(last_polled_at=clock.now() - timedelta(seconds=59)))
    answer = await http.post(f"/v1/shipments/{shipment_id}/refresh", headers=keys["writer"])
    assert answer.status_code == 429 and answer.headers["retry-after"] == "1"


async def test_refusals(
    http: httpx.AsyncClient,  # noqa: F811
    keys: Headers,  # noqa: F811
    sessions: Sessions,
    clock: SimulatedClock,
    carrier: FakeCarrier,
    shipment_id: int,
) -> None:
    path = f"/v1/shipments/{shipment_id}/refresh"
    assert (await http.post(path)).status_code == 401
    assert (await http.post(path, headers=keys["reader"])).status_code == 403  # the write scope
    missing = await http.post("/v1/shipments/999/refresh", headers=keys["writer"])
    assert missing.status_code == 404 and missing.json()["detail"] == "no shipment with id 999"
    assert (await http.post("/v1/shipments/0/refresh", headers=keys["writer"])).status_code == 422
    async with sessions() as session, session.begin():
        until = clock.now() + timedelta(minutes=2)
        await session.execute(update(CarrierAccount).values(circuit_open_until=until, consecutive_failures=5))
    failing = await http.post(path, headers=keys["writer"])
    assert failing.status_code == 503 and failing.headers["retry-after"] == "120"
    assert "carrier account 'fake-1' is failing" in failing.json()["detail"]
    assert carrier.calls == []


async def test_a_failed_refresh_says_why_and_changes_nothing(
    http: httpx.AsyncClient,  # noqa: F811
    keys: Headers,  # noqa: F811
    carrier: FakeCarrier,
    shipment_id: int,
) -> None:
    carrier.fail_with = CarrierUnavailable("HTTP 503 from the carrier")
    answer = await http.post(f"/v1/shipments/{shipment_id}/refresh", headers=keys["writer"])
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["error"] == "HTTP 503 from the carrier"
    assert (body["status_before"], body["status_after"], body["events"]) == ("pending", "pending", [])
