"""The deadline watch: no claim window closes unnoticed, no carrier answer is waited for forever.

Each run (scheduled, and after filing and following) reads only what time may have changed, through
indexes: windows that closed unfiled (expired, a critical alert), candidates whose window opened (ready),
unfiled claims closing within ``WARN_DAYS`` business days (alerts at 5 and at 2 days left), and filed claims
past the carrier's answer deadline (a follow-up alert). Every alert has a key, so a run repeated after a
crash, or two watchers at once, alert once.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from claims.models import Claim
from claims.service import Claims
from claims.vocabulary import ClaimStatus
from claims.windows import business_days_left

WARN_DAYS = (5, 2)  # business days before a window closes
_LOOKAHEAD = timedelta(days=16)  # calendar days that hold 5 business days, whatever the holidays
_UNFILED = (ClaimStatus.CANDIDATE.value, ClaimStatus.READY.value, ClaimStatus.FILING.value)
_CHUNK = 1000


@dataclass(frozen=True, slots=True)
class ClaimAlert:
    """An ops alert about a claim: ``event`` is closing | expired | refused | answer_overdue."""

    shipment_id: int
    claim_id: int
    event: str
    key: str  # one alert per key, ever
    severity: str
    facts: dict[str, Any]


class AlertSink(Protocol):
    """Queues ops alerts in the caller's transaction (the notifier's outbox); how many were new."""

    async def __call__(self, session: AsyncSession, alerts: Sequence[ClaimAlert], now: datetime) -> int: ...


@dataclass
class WatchReport:
    expired: int = 0
    ready: int = 0
    alerts: int = 0
    closest: list[tuple[int, int]] = field(default_factory=list)  # (claim id, business days left), soonest first


def alert_for(claim: Claim, event: str, severity: str, key: str, **facts: Any) -> ClaimAlert:
    base = {
        "claim_id": claim.id,
        "claim_type": claim.claim_type,
        "kind": claim.kind,
        "status": claim.status,
        "protocol": claim.protocol,
        "closes_at": claim.closes_at.isoformat(),
        "amount": str(claim.amount_claimed) if claim.amount_claimed is not None else None,
        "event": event,
    }
    return ClaimAlert(claim.shipment_id, claim.id, event, f"claim:{claim.id}:{key}", severity, base | facts)


async def watch(session: AsyncSession, claims: Claims, alert: AlertSink, now: datetime) -> WatchReport:
    """One pass of the watch in the caller's transaction."""
    report = WatchReport()
    alerts: list[ClaimAlert] = []
    c = Claim
    # windows that closed unfiled, and candidates whose window opened: the service decides, claim by claim
    due = select(c.id, c.status).where(
        ((c.status.in_(_UNFILED[:2])) & (c.closes_at < now))
        | ((c.status == ClaimStatus.CANDIDATE.value) & (c.opens_at <= now))
    )
    before: dict[int, str] = {i: s for i, s in (await session.execute(due)).all()}
    ids = list(before)
    for start in range(0, len(ids), _CHUNK):
        for claim in await claims.reassess(session, ids[start : start + _CHUNK], now):
            if claim.status == before[claim.id]:
                continue
            if claim.status == ClaimStatus.EXPIRED.value:
                report.expired += 1
                alerts.append(alert_for(claim, "expired", "critical", "expired"))
            elif claim.status == ClaimStatus.READY.value:
                report.ready += 1
    closing = select(Claim).where(c.status.in_(_UNFILED), c.closes_at >= now, c.closes_at <= now + _LOOKAHEAD)
    for claim in await session.scalars(closing.order_by(c.closes_at)):
        left = business_days_left(now, claim.closes_at, claims.calendar)
        report.closest.append((claim.id, left))
        for days in sorted(WARN_DAYS):
            if left <= days:
                severity = "critical" if days == min(WARN_DAYS) else "high"
                alerts.append(alert_for(claim, "closing", severity, f"closing:{days}", business_days_left=left))
                break  # the nearest threshold crossed; the farther one, if missed, is moot
    overdue = select(Claim).where(c.status == ClaimStatus.FILED.value, c.answer_due_at < now, c.answered_at.is_(None))
    for claim in await session.scalars(overdue):
        assert claim.answer_due_at is not None
        alerts.append(
            alert_for(claim, "answer_overdue", "medium", f"answer_overdue:{claim.answer_due_at.isoformat()}",
                      answer_due_at=claim.answer_due_at.isoformat())
        )  # fmt: skip
    if alerts:
        report.alerts = await alert(session, alerts, now)
    report.closest = report.closest[:10]
    return report
