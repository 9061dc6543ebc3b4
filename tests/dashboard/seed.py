"""A small store for the dashboard's tests: two shipments, their events, incidents, messages, check-in, claims,
and the carriers page's rollups (``ROLLUPS``: the page reads only those)."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from claims import Claim
from dashboard.users import create_user
from notifier import Checkin, Notification
from tracker.detector import Incident
from tracker.metrics.models import DailyMetrics, IncidentMetrics
from tracker.models import Shipment, TrackingEvent

PASSWORD = "uma senha bem longa"
WA_LINK = "https://wa.me/5511987654321?text=Ol%C3%A1%2C%20Joana"


# day, carrier, destination UF, shipments, judged against the promise, on time, incidents (delayed)
ROLLUPS = (
    ("2026-10-06", "correios", "RJ", 40, 38, 34, 2),
    ("2026-10-14", "correios", "RJ", 30, 30, 24, 3),
    ("2026-10-21", "correios", "SP", 50, 48, 46, 1),
    ("2026-10-28", "correios", "MG", 4, 4, 4, 0),  # too few judged for the heat map
    ("2026-10-07", "jadlog", "RJ", 20, 20, 12, 4),
    ("2026-10-20", "jadlog", "SP", 25, 24, 22, 1),
    ("2026-09-20", "correios", "RJ", 100, 100, 80, 10),  # the 30 days before the default period
)
# the default period (the 30 days to 2026-11-02): Correios 124 shipments, 108 of 120 on time (90,0%), 6 incidents
# (4,84 per 100; the 30 days before: 100, 80,0%, 10,00), Jadlog 45, 34 of 44 (77,3%), 5 (11,11 per 100)


def rollup_rows(
    rows: tuple[tuple[str, str, str, int, int, int, int], ...] = ROLLUPS, category: str = "moda"
) -> list[object]:
    out: list[object] = []
    for day, carrier, state, shipments, judged, on_time, incidents in rows:
        key = {"day": date.fromisoformat(day), "carrier": carrier, "service": "SEDEX", "origin_state": "SP",
               "destination_state": state, "category": category}  # fmt: skip
        late = judged - on_time
        out.append(
            DailyMetrics(
                **key,
                shipments=shipments,
                delivered=judged,
                first_attempt=on_time,
                judged_promise=judged,
                on_time_promise=on_time,
                judged_deadline=judged,
                on_time_deadline=on_time,
                late_1=late,
                late_2_3=0,
                late_4_7=0,
                late_8_plus=0,
                notifications_sent=0,
                claims_filed=0,
                claims_approved=0,
                claims_denied=0,
                claims_paid=0,
                amount_claimed=Decimal(0),
                amount_recovered=Decimal(0),
                rated=0,
                rating_sum=0,
            )
        )
        if incidents:
            out.append(IncidentMetrics(**key, kind="delayed", opened=incidents, resolved=0, tmr_hours=0.0))
    return out


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
        session.add_all(rollup_rows())
        await session.flush()
        return Seeded(s.id, other.id, lost.id, delayed.id, wa.id, claim.id)
