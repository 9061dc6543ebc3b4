"""The claims API on SQLite and PostgreSQL: filters and pages, a claim with its packet link, filings and history,
the packet as HTML and PDF, and every person's move, refused moves naming the field; amounts as strings."""

import io
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from pypdf import PdfReader
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from claims.api import CLAIMS, router
from claims.service import Claims
from tests.claims.conftest import Parcels
from tests.claims.test_filing import ready_claims
from tests.tracker.ingest.conftest import keys, make_app, serve  # noqa: F401
from tracker.clock import SimulatedClock
from tracker.models import Shipment
from tracker.shipments.detail import detail_model
from tracker.shipments.schemas import ShipmentOut
from tracker.vocabulary import Kind

Headers = dict[str, dict[str, str]]


@pytest.fixture
async def http(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], clock: SimulatedClock
) -> AsyncIterator[httpx.AsyncClient]:
    """The API app with the claims routes (the composition root adds them in zelo/features.py)."""
    app = make_app(engine, clock)
    app.include_router(router)
    async with serve(engine, clock, app) as client:
        yield client


async def claim_on(parcels: Parcels, sessions: async_sessionmaker[AsyncSession], kind: Kind, **facts: Any) -> int:
    shipment = await parcels.shipment(**facts)
    async with sessions() as session, session.begin():
        await Claims()(session, [await parcels.raised(shipment, kind)], [], parcels.now())
    [claim] = await parcels.claims(shipment)
    return claim.id


async def listed(http: httpx.AsyncClient, keys: Headers, **params: Any) -> list[int]:  # noqa: F811
    response = await http.get("/v1/claims", params=params, headers=keys["reader"])
    assert response.status_code == 200, response.text
    return [c["id"] for c in response.json()["claims"]]


async def test_claims_are_found_by_status_carrier_kind_and_deadline_page_by_page(
    http: httpx.AsyncClient, keys: Headers, parcels: Parcels, sessions: async_sessionmaker[AsyncSession],  # noqa: F811
    clock: SimulatedClock,
) -> None:  # fmt: skip
    lost = await claim_on(parcels, sessions, Kind.LOST, carrier_expected_delivery=date(2026, 10, 28))
    late_window = await claim_on(parcels, sessions, Kind.DAMAGED, carrier_expected_delivery=date(2026, 10, 30))
    waiting = await claim_on(parcels, sessions, Kind.STOLEN, carrier_expected_delivery=date(2026, 11, 20))
    assert await listed(http, keys) == [waiting, late_window, lost]  # newest first
    assert await listed(http, keys, status="ready") == [late_window, lost]
    assert await listed(http, keys, status="candidate") == [waiting]  # too early: inside its delivery deadline
    assert await listed(http, keys, kind="damaged") == [late_window]
    assert await listed(http, keys, carrier="correios", kind="lost") == [lost]
    assert await listed(http, keys, closes_before="2026-11-28") == [lost]  # 28/10 + 30 days closes 27/11 23:59
    assert await listed(http, keys, closes_before="2026-11-30") == [late_window, lost]
    first = (await http.get("/v1/claims", params={"limit": 2}, headers=keys["reader"])).json()
    assert [c["id"] for c in first["claims"]] == [waiting, late_window]
    assert await listed(http, keys, limit=2, cursor=first["next_cursor"]) == [lost]
    [item] = (await http.get("/v1/claims", params={"kind": "lost"}, headers=keys["reader"])).json()["claims"]
    assert (item["claim_type"], item["status"], item["tracking_code"][:2]) == ("indemnity", "ready", "CL")
    assert (item["amount_claimed"], item["amount_approved"]) == ("230.00", None)  # R$ 200 declared + R$ 30 postage
    assert item["closes_at"] == "2026-11-28T02:59:59Z" and item["business_days_left"] == 18  # 20/11 is a holiday
    bad = [
        {"status": "open"}, {"kind": "late"}, {"carrier": "pigeon"}, {"closes_before": "soon"},
        {"limit": 0}, {"cursor": "nope"}, {"sort": "id"},
    ]  # fmt: skip
    for params in bad:
        response = await http.get("/v1/claims", params=params, headers=keys["reader"])
        assert response.status_code == 422, (params, response.text)
        assert response.json()["errors"][0]["field"] == next(iter(params))
    assert (await http.get("/v1/claims")).status_code == 401


async def test_a_claim_with_its_packet_filings_and_history(
    http: httpx.AsyncClient, keys: Headers, parcels: Parcels, sessions: async_sessionmaker[AsyncSession],  # noqa: F811
) -> None:  # fmt: skip
    [shipment] = await ready_claims(parcels, sessions, 1)
    [claim] = await parcels.claims(shipment)
    response = await http.get(f"/v1/claims/{claim.id}", headers=keys["reader"])
    assert response.status_code == 200, response.text
    detail = response.json()
    assert detail["packet_url"] == f"/v1/claims/{claim.id}/packet" and detail["filings"] == []
    assert [(c["from_status"], c["to_status"]) for c in detail["changes"]] == [
        (None, "candidate"),
        ("candidate", "ready"),
    ]
    page = await http.get(detail["packet_url"], headers=keys["reader"])
    assert page.status_code == 200 and page.headers["content-type"] == "text/html; charset=utf-8"
    assert detail["tracking_code"] in page.text and "Maria Silva" in page.text  # the carrier's packet
    assert "default-src 'none'" in page.headers["content-security-policy"]
    pdf = await http.get(detail["packet_url"], params={"format": "pdf"}, headers=keys["reader"])
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"] == f'inline; filename="reclamacao-ZELO-{claim.id}.pdf"'
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert detail["tracking_code"] in text
    assert (await http.get(detail["packet_url"], params={"format": "doc"}, headers=keys["reader"])).status_code == 422
    for path in ("/v1/claims/999", "/v1/claims/999/packet"):
        assert (await http.get(path, headers=keys["reader"])).status_code == 404
    assert (await http.get("/v1/claims/0", headers=keys["reader"])).status_code == 422


async def post(http: httpx.AsyncClient, keys: Headers, path: str, body: Any = None, role: str = "writer") -> Any:  # noqa: F811
    return await http.post(path, json=body, headers=keys[role])


async def test_a_claim_moves_by_hand_from_approval_to_the_money(
    http: httpx.AsyncClient, keys: Headers, parcels: Parcels, sessions: async_sessionmaker[AsyncSession],  # noqa: F811
) -> None:  # fmt: skip
    [shipment] = await ready_claims(parcels, sessions, 1)
    [claim] = await parcels.claims(shipment)
    base = f"/v1/claims/{claim.id}"
    assert (await post(http, keys, f"{base}/approve", role="reader")).status_code == 403
    approved = await post(http, keys, f"{base}/approve")
    assert approved.status_code == 200 and approved.json()["approved_by"] == "writer"
    for body, field in (({"protocol": ""}, "protocol"), ({"protocol": "PI\n1"}, "protocol"), ({}, "protocol"),
                        ({"protocol": "PI1", "extra": 1}, "extra")):  # fmt: skip
        refused = await post(http, keys, f"{base}/filed", body)
        assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == field, refused.text
    filed = await post(http, keys, f"{base}/filed", {"protocol": "PI123456"})
    assert filed.status_code == 200 and (filed.json()["status"], filed.json()["protocol"]) == ("filed", "PI123456")
    again = await post(http, keys, f"{base}/filed", {"protocol": "PI999"})
    assert again.status_code == 409 and again.json()["errors"][0]["field"] == "status"
    for body, field in (({"verdict": "partially_approved"}, "amount"), ({"verdict": "yes"}, "verdict"),
                        ({"verdict": "approved", "amount": 150.5}, "amount"),
                        ({"verdict": "approved", "amount": "1.234"}, "amount")):  # fmt: skip
        refused = await post(http, keys, f"{base}/answer", body)
        assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == field, refused.text
    partial = await post(http, keys, f"{base}/answer", {"verdict": "partially_approved", "amount": "150.00",
                                                        "message": "indenização parcial"})  # fmt: skip
    assert partial.status_code == 200 and partial.json()["amount_approved"] == "150.00"
    assert (
        partial.json()["status"] == "partially_approved" and partial.json()["answer_message"] == "indenização parcial"
    )
    early = await post(http, keys, f"{base}/payment", {"amount": "150.00", "paid_at": "2026-11-20T10:00:00"})
    assert early.status_code == 422 and early.json()["errors"][0]["field"] == "paid_at"  # no time zone
    zero = await post(http, keys, f"{base}/payment", {"amount": "0", "paid_at": "2026-11-20T10:00:00-03:00"})
    assert zero.status_code == 422 and zero.json()["errors"][0]["field"] == "amount"
    paid = await post(http, keys, f"{base}/payment", {"amount": "120.00", "paid_at": "2026-11-20T10:00:00-03:00"})
    body = paid.json()
    assert paid.status_code == 200 and (body["status"], body["amount_paid"]) == ("paid", "120.00")
    assert body["changes"][-1]["note"] == "R$ 120.00 paid, R$ 30.00 short of the approved amount"
    gone = await post(http, keys, f"{base}/withdraw", {"reason": "turned up"})
    assert gone.status_code == 409 and gone.json()["errors"][0]["field"] == "status"
    assert (await post(http, keys, "/v1/claims/999/approve")).status_code == 404


async def test_withdrawn_with_a_reason_and_a_denied_claim_reactivated_once(
    http: httpx.AsyncClient, keys: Headers, parcels: Parcels, sessions: async_sessionmaker[AsyncSession],  # noqa: F811
    clock: SimulatedClock, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    from dataclasses import replace

    from claims.policy import Policies

    original = Policies.for_shipment
    monkeypatch.setattr(Policies, "for_shipment", lambda self, c, s: replace(original(self, c, s), filer="manual"))
    kept, dropped = await ready_claims(parcels, sessions, 2)
    [claim], [other] = await parcels.claims(kept), await parcels.claims(dropped)
    assert (await post(http, keys, f"/v1/claims/{other.id}/withdraw", {"reason": ""})).status_code == 422
    withdrawn = await post(http, keys, f"/v1/claims/{other.id}/withdraw", {"reason": "o cliente recebeu"})
    assert withdrawn.json()["status"] == "withdrawn"
    base = f"/v1/claims/{claim.id}"
    early = await post(http, keys, f"{base}/reactivate", {"reason": "nova prova"})
    assert early.status_code == 409 and early.json()["errors"][0]["field"] == "status"
    await post(http, keys, f"{base}/filed", {"protocol": "PI1"})
    await post(http, keys, f"{base}/answer", {"verdict": "denied", "message": "não procede"})
    clock.advance(timedelta(days=1))
    again = await post(http, keys, f"{base}/reactivate", {"reason": "o cliente enviou foto da caixa"})
    assert again.status_code == 200, again.text
    assert (again.json()["status"], again.json()["reactivations"]) == ("filed", 1)
    assert again.json()["filings"][-1]["operation"] == "reactivate"
    await post(http, keys, f"{base}/answer", {"verdict": "denied"})
    twice = await post(http, keys, f"{base}/reactivate", {"reason": "de novo"})
    assert twice.status_code == 409 and "reactivated 1 time" in twice.json()["detail"]


async def test_the_shipment_detail_lists_its_claims(
    parcels: Parcels, sessions: async_sessionmaker[AsyncSession]
) -> None:
    [shipment] = await ready_claims(parcels, sessions, 1)
    async with sessions() as session:
        briefs = await CLAIMS.of(session, shipment)
        row = await session.get(Shipment, shipment)
        assert row is not None
        detail = detail_model([CLAIMS])(**ShipmentOut.of(row).model_dump(), events=[], claims=briefs)
    [brief] = detail.model_dump(mode="json")["claims"]
    assert (brief["claim_type"], brief["status"], brief["amount_claimed"]) == ("indemnity", "ready", "230.00")
