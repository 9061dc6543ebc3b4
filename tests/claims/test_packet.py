"""The evidence of a claim and its packet: the full event history with the carrier's codes, the check-in and
its photo, the messages sent, the claim's history; the customer masked for everyone but the carrier, who gets
the addressee's name (never the e-mail or phone in clear); the HTML escaped, the PDF a real PDF."""

import io
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from PIL import Image
from pypdf import PdfReader
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from carriers.base import Status
from claims import packet
from claims.evidence import gather
from claims.service import Claims
from notifier.models import Checkin, Notification
from tests.claims.conftest import Parcels
from tracker.clock import SimulatedClock
from tracker.vocabulary import Kind

CONTACT = {"customer_email": "maria.silva@example.com", "customer_phone": "+5511987654321"}
PLACE = {"destination_city": "Campinas", "destination_postal_code": "13010100"}


async def claimed_parcel(
    parcels: Parcels, sessions: async_sessionmaker[AsyncSession], clock: SimulatedClock, **facts: object
) -> tuple[int, int]:
    """A lost PAC parcel with events, a check-in with a photo, messages (sent, suppressed, to ops) and a claim."""
    shipment = await parcels.shipment(
        carrier_expected_delivery=date(2026, 10, 28), invoice_key="3" * 44, order_number="PED-991",
        items=[{"sku": "TEN-42", "quantity": 2, "description": "Tênis corrida"}], **CONTACT, **PLACE, **facts,
    )  # fmt: skip
    posted = clock.now() - timedelta(days=12)
    await parcels.event(shipment, Status.POSTED, posted)
    await parcels.event(shipment, Status.IN_TRANSIT, posted + timedelta(days=1))
    async with sessions() as session, session.begin():
        session.add(
            Checkin(shipment_id=shipment, answer="not_received", photo_path="a" * 32 + ".png",
                    comment="não chegou, me liguem em (11) 98765-4321 ou maria.silva@example.com",
                    answered_at=clock.now())
        )  # fmt: skip
        for channel, status, trigger in (
            ("email", "sent", "posted"), ("whatsapp", "suppressed", "delayed"), ("ops_email", "sent", "ops_incident"),
            ("wa_link", "queued", "lost"),
        ):  # fmt: skip
            session.add(
                Notification(dedupe_key=f"{shipment}:{channel}", shipment_id=shipment, trigger=trigger,
                             channel=channel, status=status, facts={}, created_at=posted, due_at=posted,
                             attempts=1, sent_at=posted if status == "sent" else None)
            )  # fmt: skip
    async with sessions() as session, session.begin():
        await Claims()(session, [await parcels.raised(shipment, Kind.LOST)], [], clock.now())
    [claim] = await parcels.claims(shipment)
    return shipment, claim.id


def photo(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(out, "PNG")
    path = folder / ("a" * 32 + ".png")
    path.write_bytes(out.getvalue())
    return path


async def test_the_evidence_holds_every_fact_and_masks_the_customer_by_audience(
    parcels: Parcels, sessions: async_sessionmaker[AsyncSession], clock: SimulatedClock
) -> None:
    _, claim_id = await claimed_parcel(parcels, sessions, clock)
    async with sessions() as session:
        carrier = await gather(session, claim_id, "carrier")
        ops = await gather(session, claim_id, "ops")
    assert [e.status for e in carrier.events] == ["posted", "in_transit"]
    assert {e.code for e in carrier.events} == {"BDE/01"}  # the carrier's raw code, as stored
    assert carrier.parcel.invoice_key == "3" * 44 and carrier.parcel.declared_value == Decimal("200.00")
    assert carrier.parcel.shipping_cost == Decimal("30.00")
    assert carrier.parcel.carrier_expected_delivery == date(2026, 10, 28)
    assert [(m.channel, m.trigger) for m in carrier.messages] == [("email", "posted"), ("wa_link", "lost")]
    assert carrier.checkin is not None and carrier.checkin.answer == "not_received"
    assert carrier.checkin.comment == "não chegou, me liguem em ***4321 ou m***@example.com"
    assert [h.to_status for h in carrier.history] == ["candidate", "ready"] and carrier.filings == []
    assert carrier.reference == f"ZELO-{claim_id}"
    # the carrier: the addressee and destination in clear; never the e-mail or phone
    a = carrier.addressee
    assert (a.name, a.city, a.postal_code, a.state) == ("Maria Silva", "Campinas", "13010100", "SP")
    assert (a.email, a.phone) == ("m***@example.com", "***4321")
    # anyone else: hints only
    o = ops.addressee
    assert (o.name, o.city, o.postal_code, o.email, o.phone) == ("M***", "C***", "13***", "m***@example.com", "***4321")


async def test_the_html_packet_is_pt_br_escaped_and_stands_alone(
    parcels: Parcels, sessions: async_sessionmaker[AsyncSession], clock: SimulatedClock, tmp_path: Path
) -> None:
    _, claim_id = await claimed_parcel(parcels, sessions, clock, customer_name="<script>alert(1)</script> Zé")
    async with sessions() as session:
        evidence = await gather(session, claim_id, "carrier")
    page = packet.html(evidence, photo(tmp_path))
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; Zé" in page
    assert '<html lang="pt-BR">' in page and "Histórico de rastreamento" in page
    assert evidence.parcel.tracking_code in page and f"ZELO-{claim_id}" in page
    assert "Indenização (extravio, roubo ou avaria) e frete" in page and "R$ 230,00" in page  # 200 + 30 postage
    assert "PED-991" in page and "3" * 44 in page and "2 × Tênis corrida" in page
    assert "28/10/2026" in page and "não recebi" in page and "aviso de extravio" in page
    assert "maria.silva@example.com" not in page and "98765" not in page
    assert 'src="data:image/png;base64,' in page
    assert "data:image" not in packet.html(evidence)  # no photo kept: none shown


async def test_the_pdf_is_a_real_pdf_with_the_codes_in_its_text(
    parcels: Parcels, sessions: async_sessionmaker[AsyncSession], clock: SimulatedClock, tmp_path: Path
) -> None:
    _, claim_id = await claimed_parcel(parcels, sessions, clock, customer_name="Łucja Gonçalves 😀")
    async with sessions() as session:
        evidence = await gather(session, claim_id, "carrier")
    data = packet.pdf(evidence, photo(tmp_path))
    assert data.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(data))
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert evidence.parcel.tracking_code in text and f"ZELO-{claim_id}" in text
    assert "Histórico de rastreamento" in text and "Gonçalves" in text and "R$ 230,00" in text
    assert "maria.silva@example.com" not in text
    assert len(reader.pages[-1].images) == 1  # the customer's photo, on its own page


async def test_the_letter_names_the_claim_and_the_parcel(
    parcels: Parcels, sessions: async_sessionmaker[AsyncSession], clock: SimulatedClock
) -> None:
    _, claim_id = await claimed_parcel(parcels, sessions, clock, customer_name="Maria & Cia")
    async with sessions() as session:
        evidence = await gather(session, claim_id, "carrier")
    subject, text = packet.letter(evidence, "Loja Exemplo")
    code = evidence.parcel.tracking_code
    assert subject == f"Reclamação ZELO-{claim_id}: Indenização (extravio, roubo ou avaria) e frete, objeto {code}"
    assert code in text and "R$ 230,00" in text and "Loja Exemplo" in text
    assert "Maria & Cia, Campinas/SP" in text  # plain text, not HTML-escaped


def test_money_and_dates_read_as_in_brazil() -> None:
    assert packet.money(Decimal("1234.5")) == "R$ 1.234,50" and packet.money(None, "x") == "x"
    assert packet.when(datetime.fromisoformat("2026-11-02T02:30:00+00:00")) == "01/11/2026 23:30"  # Brasília
