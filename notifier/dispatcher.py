"""The dispatcher: delivers the outbox, with retries, and records every attempt.

A batch is claimed (``sending``, with a lease) and committed *before* anything is sent. After the sends,
one transaction records each outcome. A dispatcher killed in between leaves rows ``sending`` past their
lease; the next run resends them only on channels whose receiver dedupes on the idempotency key (the ops
webhook's ``webhook-id``), and marks the others ``uncertain`` — never sent twice, shown to ops, who can
resend by hand. Policy is applied at send time: opt-outs, quiet hours in the destination's time zone (the
message waits), and a daily cap per shipment.
"""

import asyncio
import random
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

import structlog
from sqlalchemy import Row, and_, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from notifier.channels.base import Channel as Port
from notifier.channels.base import ChannelError, Outgoing, PermanentFailure, TemporaryFailure
from notifier.config import Policy, load_policy
from notifier.models import attempts_table, notifications_table, optouts_table
from notifier.vocabulary import Channel, NotificationStatus
from tracker.calendar import timezone_of
from tracker.clock import Clock
from tracker.models import shipments_table

log = structlog.get_logger(__name__)
Compose = Callable[[Row[Any], Row[Any], datetime], Awaitable[Outgoing | str]]  # a wa.me link for wa_link
OptOuts = Callable[[Row[Any], Row[Any]], Sequence[str]]  # (notification, shipment) → hashes of its addresses
_n, _s = notifications_table.c, shipments_table.c
OPS = frozenset({Channel.OPS_EMAIL.value, Channel.OPS_WEBHOOK.value})
_UPDATE = update(notifications_table).where(_n.id == bindparam("_id"))


@dataclass
class DispatchReport:
    outcomes: Counter[tuple[str, str]] = field(default_factory=Counter)  # (channel, outcome)

    def merge(self, other: "DispatchReport") -> None:
        self.outcomes.update(other.outcomes)

    def total(self, outcome: str) -> int:
        return sum(n for (_, o), n in self.outcomes.items() if o == outcome)


@dataclass
class Dispatcher:
    sessions: async_sessionmaker[AsyncSession]
    clock: Clock
    channels: Mapping[Channel, Port]
    compose: Compose
    optout_hashes: OptOuts
    policy: Policy = field(default_factory=load_policy)
    batch: int = 200
    lease: timedelta = timedelta(minutes=2)
    concurrency: int = 8
    max_attempts: int = 8
    backoff: timedelta = timedelta(seconds=30)
    max_backoff: timedelta = timedelta(hours=1)
    rng: random.Random = field(default_factory=random.Random)

    async def run_once(self) -> DispatchReport:
        """Deliver everything due now."""
        report = DispatchReport()
        await self._recover(self.clock.now(), report)
        while claimed := await self._claim(self.clock.now()):
            await self._deliver(claimed, report)
        return report

    async def _recover(self, now: datetime, report: DispatchReport) -> None:
        """Rows left ``sending`` by a dispatcher that died mid-batch."""
        async with self.sessions() as session, session.begin():
            stale = (
                await session.execute(
                    select(_n.id, _n.channel)
                    .where(_n.status == NotificationStatus.SENDING.value, _n.due_at <= now)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            rows, attempts = [], []
            for row in stale:
                port = self.channels.get(Channel(row.channel))
                again = port is not None and port.supports_idempotency
                outcome = NotificationStatus.PENDING if again else NotificationStatus.UNCERTAIN
                reason = None if again else "the dispatcher stopped during the send: it may have gone out; not resent"
                rows.append({"_id": row.id, "status": outcome.value, "due_at": now, "reason": reason})
                attempts.append(_attempt(row.id, now, "uncertain", "dispatcher_lost", reason or "resent with its key"))
                report.outcomes[(row.channel, "resent" if again else "uncertain")] += 1
            await _write(session, rows, attempts)

    async def _claim(self, now: datetime) -> list[tuple[Row[Any], Row[Any]]]:
        async with self.sessions() as session, session.begin():
            due = (
                select(_n.id)
                .where(_n.status == NotificationStatus.PENDING.value, _n.due_at <= now)
                .order_by(_n.due_at)
                .limit(self.batch)
                .with_for_update(skip_locked=True)
            )
            claimed = (
                await session.execute(
                    update(notifications_table)
                    .where(_n.id.in_(due.scalar_subquery()))
                    .values(status=NotificationStatus.SENDING.value, due_at=now + self.lease, attempts=_n.attempts + 1)
                    .returning(*notifications_table.c)
                )
            ).all()
            if not claimed:
                return []
            ids = {r.shipment_id for r in claimed}
            shipments = {s.id: s for s in await session.execute(select(shipments_table).where(_s.id.in_(ids)))}
        return [(r, shipments[r.shipment_id]) for r in claimed]

    async def _deliver(self, claimed: list[tuple[Row[Any], Row[Any]]], report: DispatchReport) -> None:
        now = self.clock.now()
        hashes = {h for n, s in claimed for h in self.optout_hashes(n, s)}
        async with self.sessions() as session:
            opted_out = (
                set(
                    (
                        await session.scalars(
                            select(optouts_table.c.address_hash).where(optouts_table.c.address_hash.in_(hashes))
                        )
                    ).all()
                )
                if hashes
                else set()
            )
            sent_today = await self._sent_today(session, claimed, now)
        gate = asyncio.Semaphore(self.concurrency)
        results = await asyncio.gather(*(self._one(n, s, now, opted_out, sent_today, gate) for n, s in claimed))
        rows, attempts = [], []
        for (n, _), (values, attempt) in zip(claimed, results, strict=True):
            rows.append({"_id": n.id, **values})
            if attempt is not None:
                attempts.append(attempt)
            report.outcomes[(n.channel, values["status"])] += 1
        async with self.sessions() as session, session.begin():
            await _write(session, rows, attempts)

    async def _one(
        self,
        n: Row[Any],
        s: Row[Any],
        now: datetime,
        opted_out: set[str],
        sent_today: Counter[int],
        gate: asyncio.Semaphore,
    ) -> tuple[dict[str, Any], dict[str, Any] | None]:
        base = {"due_at": now, "sent_at": None, "provider_id": None, "reason": None, "link": None}
        customer = n.channel not in OPS
        if customer and opted_out.intersection(self.optout_hashes(n, s)):
            return base | {"status": "suppressed", "reason": "the customer opted out", "attempts": n.attempts - 1}, None
        wait = _quiet_until(self.policy.quiet_hours.get(Channel(n.channel)), now, s.destination_state)
        if wait is not None:
            return base | {"status": "pending", "due_at": wait, "attempts": n.attempts - 1}, None
        if customer and sent_today[s.id] >= self.policy.daily_cap:
            reason = f"daily cap of {self.policy.daily_cap} messages for this shipment reached"
            return base | {"status": "suppressed", "reason": reason, "attempts": n.attempts - 1}, None
        sent_today[s.id] += int(customer)
        try:
            message = await self.compose(n, s, now)
            if isinstance(message, str):  # wa_link: queued for a person to click and send
                return base | {"status": "queued", "link": message, "attempts": n.attempts}, None
            port = self.channels.get(Channel(n.channel))
            if port is None:
                raise PermanentFailure("channel_not_configured", f"no {n.channel} channel is configured")
            async with gate:
                sent = await port.send(message)
        except TemporaryFailure as exc:
            retry = n.attempts < self.max_attempts
            status = "pending" if retry else "failed"
            values = base | {"status": status, "due_at": self._next_try(n.attempts, exc.retry_after, now)}
            return values | {"attempts": n.attempts, "reason": str(exc)}, _attempt(
                n.id, now, "retry" if retry else "failed", exc.code, str(exc)
            )
        except ChannelError as exc:
            return base | {"status": "failed", "reason": str(exc), "attempts": n.attempts}, _attempt(
                n.id, now, "failed", exc.code, str(exc)
            )
        except Exception as exc:  # a bug in a template or a channel: this message fails, the batch goes on
            log.exception("notification_crashed", notification_id=n.id)
            detail = f"{type(exc).__name__}: {exc}"[:500]
            return base | {"status": "failed", "reason": detail, "attempts": n.attempts}, _attempt(
                n.id, now, "failed", "internal_error", detail
            )
        done = base | {"status": "sent", "sent_at": now, "provider_id": sent.provider_id, "attempts": n.attempts}
        return done, _attempt(n.id, now, "sent", None, None)

    def _next_try(self, attempts: int, retry_after: float | None, now: datetime) -> datetime:
        delay = min(self.max_backoff, self.backoff * 2 ** min(attempts - 1, 20))
        delay = timedelta(seconds=self.rng.uniform(0, delay.total_seconds()))  # full jitter
        if retry_after is not None:
            delay = max(delay, timedelta(seconds=retry_after))
        return now + delay

    async def _sent_today(
        self, session: AsyncSession, claimed: list[tuple[Row[Any], Row[Any]]], now: datetime
    ) -> Counter[int]:
        since = now - timedelta(hours=24)
        ids = list({s.id for _, s in claimed})
        query = (
            select(_n.shipment_id, func.count())
            .where(and_(_n.shipment_id.in_(ids), _n.status == "sent", _n.sent_at >= since, _n.channel.not_in(OPS)))
            .group_by(_n.shipment_id)
        )
        return Counter({sid: n for sid, n in await session.execute(query)})


def _quiet_until(window: tuple[time, time] | None, now: datetime, uf: str | None) -> datetime | None:
    """The end of the quiet hours when ``now`` falls within them (destination's local time), else None."""
    if window is None:
        return None
    start, end = window
    local = now.astimezone(timezone_of(uf))
    t = local.time()
    quiet = start <= t or t < end if start > end else start <= t < end
    if not quiet:
        return None
    day = local.date() + timedelta(days=1) if start > end and t >= start else local.date()
    return datetime.combine(day, end, local.tzinfo)


def _attempt(notification_id: int, now: datetime, outcome: str, code: str | None, detail: str | None) -> dict[str, Any]:
    return {"notification_id": notification_id, "at": now, "outcome": outcome, "code": code, "detail": detail}


async def _write(session: AsyncSession, rows: list[dict[str, Any]], attempts: list[dict[str, Any]]) -> None:
    for keys in {tuple(sorted(r)) for r in rows}:  # executemany needs one key set per statement
        await session.execute(_UPDATE, [r for r in rows if tuple(sorted(r)) == keys])
    if attempts:
        await session.execute(attempts_table.insert(), attempts)
