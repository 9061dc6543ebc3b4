"""A small store for the dashboard's tests: two shipments, their events, incidents, messages, check-in, claims."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from claims import Claim
from dashboard.users import create_user
from notifier import Checkin, Notification
from tracker.detector import Incident
from tracker.models import Shipment, TrackingEvent

PASSWORD = "uma senha bem longa"
WA_LINK = "https://wa.me/5511987654321?text=Ol%C3%A1%2C%20Joana"


@dataclass(frozen=True)
class Seeded:
    shipment: int
    other: int
    lost: int  # critical, triage due in 2 h
    delayed: int  # medium, triage overdue by 1 h
    wa: int
    claim: int


def _shipment(code: str, order: str, now: datetime, **fields: object) -> Shipment:
    return Shipment(
        carrier="correios",
        tracking_code=code,
        order_number=order,
        created_at=now - timedelta(days=6),
        updated_at=now,
        status="in_transit",
        poll_error_count=0,
        customer_consent=True,
        **fields,
    )


def _incident(shipment_id: int, kind: str, severity: str, due: datetime, now: datetime) -> Incident:
    return Incident(
        shipment_id=shipment_id,
        kind=kind,
        status="open",
        severity=severity,
        owner="ops",
        next_action=f"Abrir chamado na transportadora ({kind})",
        trigger="test",
        evidence={},
        opened_at=now - timedelta(hours=5),
        updated_at=now,
        triage_due_at=due,
        reopened_count=0,
    )


async def seed(sessions: async_sessionmaker[AsyncSession], now: datetime) -> Seeded:
    async with sessions() as session, session.begin():
        for email, role in (("ana@loja.example", "ops"), ("vera@loja.example", "viewer"), ("lia@loja.example", "ops")):
            await create_user(session, email=email, role=role, password=PASSWORD, now=now)
        s = _shipment(
            "AB123456789BR",
            "PED-1001",
            now,
            external_id="erp-1001",
            customer_name="Joana <b>Silva</b>",
            customer_email="Joana@Example.com",
            customer_phone="+5511987654321",
            destination_city="Campinas",
            destination_state="SP",
            last_event_at=now - timedelta(days=4),
        )
        other = _shipment("CD987654321BR", "PED-1002", now, external_id="erp-1002")
        session.add_all([s, other])
        await session.flush()
        for days, code, description in (
            (6, "PO", "Objeto postado"),
            (5, "RO", "Objeto em trânsito - por favor aguarde"),
        ):
            session.add(
                TrackingEvent(
                    shipment_id=s.id,
                    occurred_at=now - timedelta(days=days),
                    code=code,
                    status="in_transit",
                    description=description,
                    location="CAMPINAS - SP",
                    raw={},
                    recorded_at=now,
                )
            )
        lost = _incident(s.id, "lost", "critical", now + timedelta(hours=2), now)
        delayed = _incident(other.id, "delayed", "medium", now - timedelta(hours=1), now)
        session.add_all([lost, delayed])
        await session.flush()
        wa = Notification(
            dedupe_key="wa-1",
            shipment_id=s.id,
            incident_id=lost.id,
            trigger="lost",
            channel="wa_link",
            status="queued",
            facts={},
            created_at=now - timedelta(hours=1),
            due_at=now - timedelta(hours=1),
            handed_at=now - timedelta(hours=1),
            attempts=1,
            link=WA_LINK,
        )
        session.add(wa)
        session.add(Checkin(shipment_id=s.id, answer="not_received", comment="Nada chegou", answered_at=now))
        claim = Claim(
            shipment_id=s.id,
            incident_id=lost.id,
            claim_type="pi",
            kind="lost",
            carrier="correios",
            status="ready",
            motivo=134,
            manifestation="R",
            filer="manual",
            filing="approval",
            opens_at=now - timedelta(days=1),
            closes_at=now + timedelta(days=7),
            missing=[],
            amount_claimed=Decimal("189.90"),
            amount_rule="valor declarado",
            attempts=0,
            reactivations=0,
            created_at=now - timedelta(hours=4),
            updated_at=now,
        )
        session.add(claim)
        await session.flush()
        return Seeded(s.id, other.id, lost.id, delayed.id, wa.id, claim.id)
