"""The carrier-outage guard: while a carrier account's API fails broadly, its parcels' silence is not
evidence, so no ``stalled``, ``not_posted`` or ``lost`` incident is raised from it (DESIGN §1 rule 5).

An account is guarded while its circuit is open or its latest calls failed (``consecutive_failures``).
Each shipment is also judged on its own polls: silence counts only up to its last *answered* poll.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tracker.models import CarrierAccount

log = structlog.get_logger(__name__)
FAILURES_FOR_OUTAGE = 2


@dataclass(frozen=True, slots=True)
class Guard:
    account_id: int
    account: str
    carrier: str
    reason: str
    since: datetime | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "carrier_account": self.account,
            "carrier": self.carrier,
            "reason": self.reason,
            "since": self.since.isoformat() if self.since else None,
        }


def guard_of(account: CarrierAccount, now: datetime) -> Guard | None:
    until = account.circuit_open_until
    if until is not None and account.circuit_open(now):
        reason = f"circuit open until {until.isoformat()}: {account.last_error}"
    elif account.consecutive_failures >= FAILURES_FOR_OUTAGE:
        reason = f"{account.consecutive_failures} consecutive failed calls: {account.last_error}"
    else:
        return None
    return Guard(account.id, account.name, account.carrier, reason, account.last_success_at)


async def active_guards(session: AsyncSession, now: datetime, *, log_them: bool = False) -> dict[int, Guard]:
    """Guards in force now, by carrier account id."""
    guards = {}
    for account in await session.scalars(select(CarrierAccount)):
        guard = guard_of(account, now)
        if guard is not None:
            guards[account.id] = guard
            if log_them:
                log.warning("outage_guard_active", **guard.as_dict())
    return guards
