"""Pure: a sandbox parcel as a Melhor Envio order — the scenario events said in Melhor Envio's coarse words.

Melhor Envio keeps one status per order and a date per milestone, no checkpoints. A scenario event becomes a
Melhor Envio status through ``speak.said_by`` on the Melhor Envio code table, except where Melhor Envio has no
word for it: every checkpoint between posting and delivery (in transit, out for delivery, a failed attempt,
awaiting pickup, lost, held) stays ``posted``, and a parcel back at the sender stays ``undelivered``. A Correios
reversal (EST) changes nothing, and once delivered or undelivered the order does not go back to ``posted``.
An event Correios itself does not know (scenario ``unknown_code``) is said as a status Zelo's table lacks.

Before the first scenario event the order was created, paid and its label generated (3, 2 and 1 hours
before the parcel's start). Only the milestones (changes of Melhor Envio status) are visible as changes.
"""

import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from carriers.base import Status
from carriers.melhorenvio.codes import table
from carriers.melhorenvio.ids import asked
from carriers.sandbox.model import Event, Seen
from carriers.sandbox.speak import local, meaning, said_by

UNKNOWN = "sandbox_unknown"  # not in carriers/melhorenvio/codes.csv, on purpose
REVERSAL = "EST"
SHOWN_AS = {
    Status.IN_TRANSIT: "posted",
    Status.OUT_FOR_DELIVERY: "posted",
    Status.DELIVERY_FAILED: "posted",
    Status.AWAITING_PICKUP: "posted",
    Status.LOST: "posted",
    Status.HELD: "posted",
    Status.RETURNED: "undelivered",
}
SETTLED = frozenset({"delivered", "undelivered"})  # the order never goes back to posted from these
PRELUDE = (("created_at", "pending", -3), ("paid_at", "released", -2), ("generated_at", "generated", -1))
DATES = ("created_at", "paid_at", "generated_at", "posted_at", "delivered_at", "canceled_at", "expired_at")
FIRST_DATE = {"posted": "posted_at", "delivered": "delivered_at"}  # the milestones whose date ME keeps

# What Melhor Envio finally shows for each built-in scenario, normalized (None: never found).
FINAL_STATUS: dict[str, Status | None] = {
    "on_time": Status.DELIVERED,
    "late": Status.DELIVERED,
    "lost": Status.POSTED,  # no lost status: it stays posted, the detector's silence and lateness rules see it
    "stolen": Status.POSTED,
    "damaged": Status.DELIVERED,
    "failed_attempts": Status.DELIVERED,
    "pickup_returned": Status.RETURNING,  # undelivered
    "customs_hold": Status.POSTED,  # no customs status
    "address_problem": Status.RETURNING,
    "refused": Status.RETURNING,
    "reversal": Status.DELIVERED,  # delivered at the first (reversed) delivery already
    "unknown_code": Status.DELIVERED,
    "not_found": None,
    "invalid": None,
}


@dataclass(frozen=True, slots=True)
class Milestone:
    status: str  # the Melhor Envio status word
    at: datetime  # UTC


def said(event: Event) -> str | None:
    """The Melhor Envio status a scenario event shows, or None when it changes nothing (a reversal)."""
    if event.type == REVERSAL:
        return None
    try:
        status, _ = meaning(event)
    except ValueError:
        return UNKNOWN
    return SHOWN_AS.get(status) or said_by(table(), event).code.lower()


def milestones(seen: Seen) -> list[Milestone]:
    """The changes of Melhor Envio status among the visible events, oldest first."""
    out: list[Milestone] = []
    for event, at in seen.events:
        status = said(event)
        current = out[-1].status if out else None
        if status is None or status == current or (current in SETTLED and status not in SETTLED):
            continue
        out.append(Milestone(status, at))
    return out


def exists(seen: Seen, now: datetime) -> bool:
    """Whether Melhor Envio knows the order at ``now``: created already, and not a never-found scenario."""
    return seen.scenario.message is None and seen.parcel.start + timedelta(hours=PRELUDE[0][2]) <= now


def order(seen: Seen, now: datetime, upto: Milestone | None = None) -> dict[str, Any]:
    """The order object as Melhor Envio shows it at ``now`` (or as of milestone ``upto``, for its webhook)."""
    limit = upto.at if upto is not None else now
    shown = [m for m in milestones(seen) if m.at <= limit]
    dates: dict[str, datetime | None] = dict.fromkeys(DATES)
    status = "pending"
    for field, word, hours in PRELUDE:
        at = seen.parcel.start + timedelta(hours=hours)
        if at <= limit:
            dates[field], status = at, word
    for milestone in shown:
        kept = FIRST_DATE.get(milestone.status)
        if kept and dates[kept] is None:
            dates[kept] = milestone.at
        status = milestone.status
    updated = max(d for d in dates.values() if d is not None)
    if shown:
        updated = max(updated, shown[-1].at)
    crc = zlib.crc32(seen.parcel.code.upper().encode())
    tracking = f"ME{crc % 10**9:09d}BR" if dates["generated_at"] else None
    return {
        "id": asked(seen.parcel.code),
        "protocol": f"ORD-{seen.parcel.start.year}{crc % 10**8:08d}",
        "status": status,
        "tracking": tracking,
        "melhorenvio_tracking": tracking,
        "tracking_url": f"https://www.melhorrastreio.com.br/rastreio/{tracking}" if tracking else None,
        **{field: local(at) if at else None for field, at in dates.items()},
        "updated_at": local(updated),
    }


def webhook(seen: Seen, milestone: Milestone) -> dict[str, Any]:
    """The webhook Melhor Envio sends when the order reaches ``milestone``."""
    word = "cancelled" if milestone.status == "canceled" else milestone.status
    return {"event": f"order.{word}", "data": order(seen, milestone.at, milestone)}
