"""The deadline watch: no claim window closes unnoticed, no carrier answer is waited for forever.

Each run (scheduled, and after filing and following) reads only what time may have changed, through
indexes: windows that closed unfiled (expired, a critical alert), candidates whose window opened (ready),
unfiled claims closing within ``WARN_DAYS`` business days (alerts at 5 and at 2 days left), and filed claims
past the carrier's answer deadline (a follow-up alert). Every alert has a key, so a run repeated after a
crash, or two watchers at once, alert once.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, cast, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from claims.amounts import brl
from claims.assess import AWAITING_DELIVERY
from claims.models import claim_changes_table, claims_table
from claims.service import Claims
from claims.vocabulary import ClaimStatus, ClaimType
from claims.windows import CARRIER_ZONE, business_days_left
from tracker.signals import Alert, AlertSink
from tracker.vocabulary import Severity

WARN_DAYS = (5, 2)  # business days before a window closes
_LOOKAHEAD = timedelta(days=16)  # calendar days that hold 5 business days, whatever the holidays
_UNFILED = (ClaimStatus.CANDIDATE.value, ClaimStatus.READY.value, ClaimStatus.FILING.value)
_CHUNK = 1000


@dataclass
class WatchReport:
    expired: int = 0
    ready: int = 0
    alerts: int = 0
    closest: list[tuple[int, int]] = field(default_factory=list)  # (claim id, business days left), soonest first


def alert_for(claim: Any, event: str, severity: str, key: str, **facts: Any) -> Alert:
    """An alert about ``claim`` (a Claim, or a row with its id, shipment_id, type, kind, status, protocol,
    closes_at and amount_claimed), in words ops read: dates as dd/mm/aaaa in Brasília, R$ as 1.234,56."""
    base = {
        "claim_id": claim.id,
        "claim_type": claim.claim_type,
        "kind": claim.kind,
        "status": claim.status,
        "protocol": claim.protocol,
        "closes_on": _day(claim.closes_at),
        "amount": brl(claim.amount_claimed),
        "event": event,
    }
    return Alert(claim.shipment_id, "claim", f"claim:{claim.id}:{key}", Severity(severity), base | facts)


def _day(at: datetime | None) -> str | None:
    return at.astimezone(CARRIER_ZONE).strftime("%d/%m/%Y") if at else None


async def watch(session: AsyncSession, claims: Claims, alert: AlertSink, now: datetime) -> WatchReport:
    """One pass of the watch in the caller's transaction: set-based, so it costs what changed, not what is open.

    Only time moves a claim here: the parcel's own changes are assessed when they happen (the detector's
    listener), and the amount of a delay that still grows is assessed again when the claim is filed.
    """
    report = WatchReport()
    alerts: list[Alert] = []
    c = claims_table.c
    unfiled = c.status.in_(_UNFILED[:2])
    # a delay never delivered is no refund: the parcel is lost, and its indemnity claim refunds the postage
    never = (c.claim_type == ClaimType.REFUND.value) & (cast(c.missing, String).contains(f'"{AWAITING_DELIVERY}"'))
    note = "never delivered: no delay to refund (a loss claim covers the postage)"
    await _move_all(session, unfiled & never & (c.closes_at < now), ClaimStatus.WITHDRAWN, now, note)
    expired = await _move_all(session, unfiled & (c.closes_at < now), ClaimStatus.EXPIRED, now, "window closed unfiled")
    report.expired = len(expired)
    alerts += [alert_for(r, "expired", "critical", "expired") for r in expired]
    opened = (c.status == ClaimStatus.CANDIDATE.value) & (c.opens_at <= now) & (cast(c.missing, String) == "[]")
    report.ready = len(await _move_all(session, opened, ClaimStatus.READY, now, "the window opened"))
    closing = select(*_COLUMNS).where(c.status.in_(_UNFILED), c.closes_at >= now, c.closes_at <= now + _LOOKAHEAD)
    for r in await session.execute(closing.order_by(c.closes_at)):
        left = business_days_left(now, r.closes_at, claims.calendar)
        report.closest.append((r.id, left))
        for days in sorted(WARN_DAYS):
            if left <= days:
                severity = "critical" if days == min(WARN_DAYS) else "high"
                alerts.append(alert_for(r, "closing", severity, f"closing:{days}", business_days_left=left))
                break  # the nearest threshold crossed; the farther one, if missed, is moot
    overdue = select(*_COLUMNS, c.answer_due_at).where(
        c.status == ClaimStatus.FILED.value, c.answer_due_at < now, c.answered_at.is_(None)
    )
    for r in await session.execute(overdue):
        key = f"answer_overdue:{r.answer_due_at.isoformat()}"
        alerts.append(alert_for(r, "answer_overdue", "medium", key, answer_due_on=_day(r.answer_due_at)))
    if alerts:
        report.alerts = await alert(session, alerts, now)
    report.closest = report.closest[:10]
    return report


_COLUMNS = tuple(
    claims_table.c[name]
    for name in ("id", "shipment_id", "claim_type", "kind", "status", "protocol", "closes_at", "amount_claimed")
)


async def _move_all(session: AsyncSession, where: Any, to: ClaimStatus, now: datetime, note: str) -> list[Any]:
    """Move every claim ``where`` says to ``to`` in one statement, with its audit rows; the claims moved."""
    moved = (
        await session.execute(
            update(claims_table).where(where).values(status=to.value, updated_at=now).returning(*_COLUMNS)
        )
    ).all()
    if moved:
        before = ClaimStatus.CANDIDATE.value if to is not ClaimStatus.EXPIRED else None  # expired: candidate or ready
        rows = [
            {"claim_id": r.id, "at": now, "actor": "zelo", "action": to.value, "from_status": before,
             "to_status": to.value, "note": note}
            for r in moved
        ]  # fmt: skip
        await session.execute(insert(claim_changes_table), rows)
    return list(moved)
