"""The dispatcher: delivers the outbox, with retries, and records every attempt.

A batch is claimed (``sending``, with a lease) and committed *before* anything is sent. At the last moment
before a message leaves, the channel calls ``handed`` (the e-mail channel while it sends the envelope, before
DATA), and one statement marks the row handed (``handed_at``), only while this run's claim still holds it: a
dispatcher that stalled past its lease sends nothing another run may have taken. Outcomes are recorded while
the batch goes on, a few at a time (``notifier.record``), and a send's slot among the ``concurrency`` in
flight is given back only once its outcome is written. A dispatcher killed mid-batch leaves rows ``sending``
past their lease, the rows of at most ``concurrency`` sends among them handed: those in the channel's hands at
the kill, or taken with their outcome not yet written. The next run sends again those never handed, resends
the handed ones only on channels whose receiver dedupes on the idempotency key (the ops webhook's
``webhook-id``), and marks the other handed ones ``uncertain`` — never sent twice, shown to ops, who can
resend by hand.

Policy is applied at send time: opt-outs, quiet hours in the destination's time zone (the message waits), a
daily cap per shipment and local day of the destination (messages sent, or queued for wa.me, that day: one
rule within a batch and across batches; the delivery and its check-in are never held back nor counted), and
a rate per channel (a message that would wait for its slot more than a second is put back). Ops e-mails of
one round go out as one digest. A message that fails for good on a channel with a fallback (WhatsApp → the
wa.me queue) is queued there, once.
"""

import asyncio
import random
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import Row, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from notifier.channels.base import ChannelError, Outgoing, PermanentFailure, Port, Sent, TemporaryFailure
from notifier.config import Policy, load_policy
from notifier.handoff import Handoff, Lost
from notifier.holds import quiet_until, sent_today_of
from notifier.models import notifications_table, optouts_table
from notifier.outbox import queue_row
from notifier.ratelimit import RateLimit
from notifier.record import Outcome, Recorder, Result, Slot, write
from notifier.vocabulary import Channel, NotificationStatus, Trigger
from tracker.clock import Clock
from tracker.models import shipments_table

log = structlog.get_logger(__name__)
Compose = Callable[[Row[Any], Row[Any], datetime], Awaitable[Outgoing | str]]  # a wa.me link for wa_link
OptOuts = Callable[[Row[Any], Row[Any]], Sequence[str]]  # (notification, shipment) → hashes of its addresses
Digest = Callable[[Sequence[Outgoing]], Outgoing]  # one message for a round of ops messages
_n, _s = notifications_table.c, shipments_table.c
OPS = frozenset({Channel.OPS_EMAIL.value, Channel.OPS_WEBHOOK.value})
# Failures after which the channel surely did not take the message: only these are handed to its fallback
# (a timeout, an outage or a crash may hide a delivery; a number without WhatsApp fails on wa.me too).
HANDED_ON = frozenset(
    {"outside_window", "whatsapp_rejected", "whatsapp_auth", "whatsapp_rate_limited", "channel_not_configured"}
)


class _Later(Exception):
    """No send slot within the rate limit's wait: try again at ``until``."""

    def __init__(self, until: datetime) -> None:
        self.until = until


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
    digest: Digest | None = None  # merges a round of ops e-mails into one; None sends each alone
    limits: dict[Channel, RateLimit] = field(default_factory=dict)  # default: the policy's rate limits

    def __post_init__(self) -> None:
        for channel, per_second in self.policy.rate_limits.items():
            self.limits.setdefault(channel, RateLimit(per_second))

    async def aclose(self) -> None:
        """Close the channels (the SMTP connection); one shared by two channels is closed once."""
        for port in {id(p): p for p in self.channels.values()}.values():
            await port.aclose()

    async def run_once(self) -> DispatchReport:
        """Deliver everything due now."""
        report = DispatchReport()
        await self._recover(self.clock.now(), report)
        while claimed := await self._claim(self.clock.now()):
            await self._deliver(claimed, report)
        return report

    async def _recover(self, now: datetime, report: DispatchReport) -> None:
        """Rows left ``sending`` by a dispatcher that died mid-batch: those never handed go out again."""
        async with self.sessions() as session, session.begin():
            stale = (
                await session.execute(
                    select(_n.id, _n.channel, _n.due_at, _n.attempts, _n.handed_at)
                    .where(_n.status == NotificationStatus.SENDING.value, _n.due_at <= now)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            rows, attempts = [], []
            for row in stale:
                held = {"_id": row.id, "_lease": row.due_at, "due_at": now}
                if row.handed_at is None:  # never tried: its claim was not an attempt
                    rows.append(held | {"status": NotificationStatus.PENDING.value, "attempts": row.attempts - 1})
                    report.outcomes[(row.channel, "requeued")] += 1
                    continue
                port = self.channels.get(Channel(row.channel))
                again = port is not None and port.supports_idempotency
                outcome = NotificationStatus.PENDING if again else NotificationStatus.UNCERTAIN
                reason = None if again else "the dispatcher stopped during the send: it may have gone out; not resent"
                rows.append(held | {"status": outcome.value, "reason": reason, "attempts": row.attempts})
                attempts.append(_attempt(row.id, now, "uncertain", "dispatcher_lost", reason or "resent with its key"))
                report.outcomes[(row.channel, "resent" if again else "uncertain")] += 1
            await write(session, rows, attempts)

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
                    .values(
                        status=NotificationStatus.SENDING.value,
                        due_at=now + self.lease,
                        attempts=_n.attempts + 1,
                        handed_at=None,
                    )
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
            uncapped = [t.value for t in self.policy.uncapped]
            sent_today = await sent_today_of(session, [s for _, s in claimed], now, OPS, uncapped)
        rounds: dict[str, list[tuple[Row[Any], Row[Any]]]] = {}
        alone = []
        for n, s in claimed:
            if self.digest is not None and Channel(n.channel) in self.policy.digest:
                rounds.setdefault(n.channel, []).append((n, s))
            else:
                alone.append((n, s))
        recorder = Recorder(self.sessions, report.outcomes, self.concurrency)
        async with self._handoff() as handoff:
            await asyncio.gather(*(self._one(n, s, now, opted_out, sent_today, handoff, recorder) for n, s in alone))
            for group in rounds.values():
                async with recorder.slot() as slot:
                    await recorder.record(await self._round(group, now, handoff, slot), slot)
        await recorder.close()

    def _held(
        self, n: Row[Any], s: Row[Any], now: datetime, opted_out: set[str], sent_today: Counter[int]
    ) -> Result | None:
        """Not sent now: the customer opted out, quiet hours, or the daily cap; else None (and counted)."""
        customer = n.channel not in OPS
        if customer and opted_out.intersection(self.optout_hashes(n, s)):
            return self._put_back(n, now, "suppressed", "the customer opted out")
        wait = quiet_until(self.policy.quiet_hours.get(Channel(n.channel)), now, s.destination_state)
        if wait is not None:
            return self._put_back(n, wait, "pending")
        capped = customer and Trigger(n.trigger) not in self.policy.uncapped  # never the delivery nor its check-in
        if capped and sent_today[s.id] >= self.policy.daily_cap:
            return self._put_back(
                n, now, "suppressed", f"daily cap of {self.policy.daily_cap} messages for this shipment reached"
            )
        sent_today[s.id] += int(capped)
        return None

    async def _one(
        self,
        n: Row[Any],
        s: Row[Any],
        now: datetime,
        opted_out: set[str],
        sent_today: Counter[int],
        handoff: Handoff,
        recorder: Recorder,
    ) -> None:
        async with recorder.slot() as slot:
            await recorder.record([(n, await self._try(n, s, now, opted_out, sent_today, handoff, slot))], slot)

    async def _try(
        self,
        n: Row[Any],
        s: Row[Any],
        now: datetime,
        opted_out: set[str],
        sent_today: Counter[int],
        handoff: Handoff,
        slot: Slot,
    ) -> Result:
        if held := self._held(n, s, now, opted_out, sent_today):
            return held
        try:
            message = await self.compose(n, s, now)
            if isinstance(message, str):  # wa_link: queued for a person to click and send
                return Result(_values(now, status="queued", link=message, attempts=n.attempts, handed_at=now))
            sent = await self._send(Channel(n.channel), message, [n], handoff, slot)
        except Exception as exc:
            return self._failed(n, now, exc)
        return _sent(n, now, sent)

    async def _round(
        self, group: list[tuple[Row[Any], Row[Any]]], now: datetime, handoff: Handoff, slot: Slot
    ) -> list[Outcome]:
        """One digest for the ops messages of a round; each row shares the digest's fate."""
        assert self.digest is not None
        results: list[Outcome] = []
        parts: list[tuple[Row[Any], Outgoing]] = []
        for n, s in group:
            if held := self._held(n, s, now, set(), Counter()):
                results.append((n, held))
                continue
            try:
                message = await self.compose(n, s, now)
                if isinstance(message, str):
                    raise TypeError(f"a {n.channel} message cannot be a link")
                parts.append((n, message))
            except Exception as exc:
                results.append((n, self._failed(n, now, exc)))
        if parts:
            try:
                digest = self.digest([m for _, m in parts])
                sent = await self._send(Channel(group[0][0].channel), digest, [n for n, _ in parts], handoff, slot)
            except Exception as exc:  # one fate for the round: retried together while any row has tries left
                retry = isinstance(exc, TemporaryFailure) and min(n.attempts for n, _ in parts) < self.max_attempts
                due = self._next_try(max(n.attempts for n, _ in parts), getattr(exc, "retry_after", None), now)
                return results + [(n, self._failed(n, now, exc, retry=retry, due=due)) for n, _ in parts]
            results += [(n, _sent(n, now, sent)) for n, _ in parts]
        return results

    async def _send(
        self, channel: Channel, message: Outgoing, rows: Sequence[Row[Any]], handoff: Handoff, slot: Slot
    ) -> Sent:
        """Hand ``message`` (the one of ``rows``) to its channel, once the rate, a slot and the channel allow."""
        port = self.channels.get(channel)
        if port is None:
            raise PermanentFailure("channel_not_configured", f"no {channel.value} channel is configured")
        limit = self.limits.get(channel)
        if limit is not None and (wait := await limit.acquire()) is not None:
            raise _Later(self.clock.now() + timedelta(seconds=wait))
        await slot.take()  # given back once the outcome is recorded
        return await port.send(message, lambda: handoff.mark(rows))

    @asynccontextmanager
    async def _handoff(self) -> AsyncIterator[Handoff]:
        engine: AsyncEngine = self.sessions.kw["bind"]
        async with engine.connect() as connection:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            yield Handoff(autocommit, self.clock)

    def _failed(
        self, n: Row[Any], now: datetime, exc: Exception, *, retry: bool | None = None, due: datetime | None = None
    ) -> Result:
        """The row after a send that did not happen (retried, unless told, while it has tries left); a message
        the channel surely did not take goes to its fallback."""
        if isinstance(exc, _Later):
            return self._put_back(n, exc.until, "pending")
        if isinstance(exc, Lost):
            return Result(None)
        if retry is None:
            retry = isinstance(exc, TemporaryFailure) and n.attempts < self.max_attempts
        if isinstance(exc, ChannelError):
            code, detail = exc.code, str(exc)
        else:  # a bug in a template or a channel: this message fails, the batch goes on
            log.exception("notification_crashed", notification_id=n.id, exc_info=exc)
            code, detail = "internal_error", f"{type(exc).__name__}: {exc}"[:500]
        attempt = _attempt(n.id, now, "retry" if retry else "failed", code, detail)
        if retry:
            due = due or self._next_try(n.attempts, getattr(exc, "retry_after", None), now)
            return Result(_values(due, status="pending", reason=detail, attempts=n.attempts), attempt)
        fallback = self.policy.fallback.get(Channel(n.channel))
        if fallback is None or code not in HANDED_ON:
            return Result(_values(now, status="failed", reason=detail, attempts=n.attempts), attempt)
        key = f"{n.dedupe_key}>{fallback.value}"
        row = queue_row(n.shipment_id, Trigger(n.trigger), fallback, key, n.facts, now, now, n.incident_id)
        detail = f"{detail}; handed to {fallback.value}"
        return Result(_values(now, status="failed", reason=detail, attempts=n.attempts), attempt, row)

    def _put_back(self, n: Row[Any], due: datetime, status: str, reason: str | None = None) -> Result:
        """Not tried: this run's claim does not count as an attempt."""
        return Result(_values(due, status=status, reason=reason, attempts=n.attempts - 1))

    def _next_try(self, attempts: int, retry_after: float | None, now: datetime) -> datetime:
        delay = min(self.max_backoff, self.backoff * 2 ** min(attempts - 1, 20))
        delay = timedelta(seconds=self.rng.uniform(0, delay.total_seconds()))  # full jitter
        if retry_after is not None:
            delay = max(delay, timedelta(seconds=retry_after))
        return now + delay


def _values(due: datetime, *, status: str, attempts: int, **columns: Any) -> dict[str, Any]:
    """A notification's new columns: those not given are cleared."""
    return (
        {"due_at": due, "sent_at": None, "provider_id": None, "reason": None, "link": None}
        | columns
        | {
            "status": status,
            "attempts": attempts,
        }
    )


def _sent(n: Row[Any], now: datetime, sent: Sent) -> Result:
    values = _values(now, status="sent", sent_at=now, provider_id=sent.provider_id, attempts=n.attempts)
    return Result(values, _attempt(n.id, now, "sent", None, None))


def _attempt(notification_id: int, now: datetime, outcome: str, code: str | None, detail: str | None) -> dict[str, Any]:
    return {"notification_id": notification_id, "at": now, "outcome": outcome, "code": code, "detail": detail}
