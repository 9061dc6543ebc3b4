"""The incidents API: filters, overdue SLA, outage guards, detail with history, the lifecycle by PATCH."""

from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from typer.testing import CliRunner

from tests.tracker.detector.test_sweep import silent_parcels
from tracker.cli import app
from tracker.clock import SimulatedClock
from tracker.detector.service import Detector
from tracker.detector.sweep import sweep
from tracker.models import CarrierAccount
from tracker.vault import Vault

Sessions = async_sessionmaker[AsyncSession]
Headers = dict[str, dict[str, str]]


async def stalled(sessions: Sessions, clock: SimulatedClock, vault: Vault, n: int = 3) -> None:
    clock.advance(timedelta(days=4))
    await silent_parcels(sessions, vault, clock.now(), n)
    await sweep(sessions, Detector(), clock.now())


async def test_list_filters_pages_and_flags_overdue(
    http: httpx.AsyncClient,
    keys: Headers,
    sessions: Sessions,
    clock: SimulatedClock,
    vault: Vault,
) -> None:
    await stalled(sessions, clock, vault)
    page = (await http.get("/v1/incidents", params={"limit": 2}, headers=keys["reader"])).json()
    assert [i["kind"] for i in page["incidents"]] == ["stalled", "stalled"] and page["outage_guards"] == []
    rest = (await http.get("/v1/incidents", params={"cursor": page["next_cursor"]}, headers=keys["reader"])).json()
    assert len(rest["incidents"]) == 1 and rest["next_cursor"] is None
    assert (await http.get("/v1/incidents", params={"kind": "lost"}, headers=keys["reader"])).json()["incidents"] == []
    by_owner = await http.get("/v1/incidents", params={"owner": "ops", "carrier": "correios"}, headers=keys["reader"])
    assert len(by_owner.json()["incidents"]) == 3
    assert (await http.get("/v1/incidents", params={"overdue": True}, headers=keys["reader"])).json()["incidents"] == []
    clock.advance(timedelta(hours=11))  # past 18:00 on the day they were opened: the triage SLA is missed
    overdue = (await http.get("/v1/incidents", params={"overdue": True}, headers=keys["reader"])).json()["incidents"]
    assert len(overdue) == 3 and all(i["overdue"] for i in overdue)
    bad = await http.get("/v1/incidents", params={"kind": "late"}, headers=keys["reader"])
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "kind"


async def test_the_outage_guard_is_visible(
    http: httpx.AsyncClient,
    keys: Headers,
    sessions: Sessions,
    clock: SimulatedClock,
    vault: Vault,
) -> None:
    await stalled(sessions, clock, vault, 1)
    async with sessions() as session, session.begin():
        await session.execute(
            update(CarrierAccount).values(
                circuit_open_until=clock.now() + timedelta(minutes=5), consecutive_failures=5, last_error="HTTP 503"
            )
        )
    [guard] = (await http.get("/v1/incidents", headers=keys["reader"])).json()["outage_guards"]
    assert guard["carrier_account"] == "main" and "circuit open" in guard["reason"]


async def test_the_lifecycle_by_patch(
    http: httpx.AsyncClient,
    keys: Headers,
    sessions: Sessions,
    clock: SimulatedClock,
    vault: Vault,
) -> None:
    await stalled(sessions, clock, vault, 1)
    [incident] = (await http.get("/v1/incidents", headers=keys["reader"])).json()["incidents"]
    url = f"/v1/incidents/{incident['id']}"
    assert (await http.patch(url, json={"status": "triaged"}, headers=keys["reader"])).status_code == 403
    triaged = (await http.patch(url, json={"status": "triaged", "owner": "ana"}, headers=keys["writer"])).json()
    assert (triaged["status"], triaged["owner"]) == ("triaged", "ana") and triaged["triaged_at"]
    waiting = await http.patch(url, json={"status": "waiting_carrier", "note": "PI 123"}, headers=keys["writer"])
    assert waiting.json()["status"] == "waiting_carrier"
    missing = await http.patch(url, json={"status": "resolved", "outcome": "resent"}, headers=keys["writer"])
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "root_cause"
    assert "carrier_delay" in missing.json()["detail"]
    done = await http.patch(
        url, json={"status": "resolved", "outcome": "resent", "root_cause": "carrier_delay"}, headers=keys["writer"]
    )
    body = done.json()
    assert (body["status"], body["outcome"], body["root_cause"]) == ("resolved", "resent", "carrier_delay")
    assert body["resolved_by"] == "writer"
    illegal = await http.patch(url, json={"status": "triaged"}, headers=keys["writer"])
    assert illegal.status_code == 422 and "allowed: ['open']" in illegal.json()["detail"]
    reopened = (await http.patch(url, json={"status": "open"}, headers=keys["writer"])).json()
    assert (reopened["status"], reopened["reopened_count"], reopened["outcome"]) == ("open", 1, None)
    actions = [c["action"] for c in reopened["changes"]]
    assert actions == ["opened", "assigned", "triaged", "waiting", "resolved", "reopened"]
    assert reopened["changes"][3]["note"].endswith("PI 123") and reopened["changes"][1]["actor"] == "writer"
    unknown = await http.get("/v1/incidents/999999", headers=keys["reader"])
    assert unknown.status_code == 404
    extra = await http.patch(url, json={"colour": "red"}, headers=keys["writer"])
    assert extra.status_code == 422 and extra.json()["errors"][0]["field"] == "colour"


async def test_the_shipment_detail_lists_its_incidents(
    http: httpx.AsyncClient, keys: Headers, sessions: Sessions, clock: SimulatedClock, vault: Vault
) -> None:
    await stalled(sessions, clock, vault, 1)
    [incident] = (await http.get("/v1/incidents", headers=keys["reader"])).json()["incidents"]
    detail = (await http.get(f"/v1/shipments/{incident['shipment_id']}", headers=keys["reader"])).json()
    assert [(i["id"], i["kind"], i["status"]) for i in detail["incidents"]] == [(incident["id"], "stalled", "open")]


def test_cli_lists_incidents_and_runs_the_sweep(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZELO_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/cli.db")
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    swept = runner.invoke(app, ["detect", "--once"])
    assert swept.exit_code == 0 and "opened 0, escalated 0" in swept.output
    listed = runner.invoke(app, ["incidents", "list", "--overdue"])
    assert listed.exit_code == 0 and "overdue" in listed.output  # an empty table, its header wrapped
    wrong = runner.invoke(app, ["incidents", "list", "--kind", "late"])
    assert wrong.exit_code == 2 and "late" in wrong.output
