"""The dispatcher on SQLite and PostgreSQL: sends once, retries with back-off, survives being killed between
the send and the record without sending twice, waits out quiet hours, honours opt-outs and the daily cap."""

import asyncio
import contextlib
import random
import socket
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import Row, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from carriers.correios.s10 import make_code
from notifier import record
from notifier.channels.base import Handed, Outgoing, PermanentFailure, Sent, TemporaryFailure, unrecorded
from notifier.channels.email import EmailChannel
from notifier.compose import make_digest
from notifier.config import load_policy
from notifier.dispatcher import Dispatcher, DispatchReport
from notifier.models import Notification, NotificationAttempt, OptOut
from notifier.ratelimit import RateLimit
from notifier.record import write
from notifier.vocabulary import Channel
from tests.support import correios_account
from tracker.clock import SimulatedClock
from tracker.config import Settings
from tracker.models import CarrierAccount
from tracker.shipments.service import NewShipment, register
from tracker.vault import Vault

Sessions = async_sessionmaker[AsyncSession]


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture
async def smtp() -> AsyncIterator[tuple[Inbox, Controller]]:
    inbox = Inbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, controller
    controller.stop()


class Fake:
    """A channel that records sends and fails as told."""

    def __init__(self, name: str, *, idempotent: bool = False, fail: Exception | None = None) -> None:
        self.name, self.supports_idempotency, self.fail, self.sent = name, idempotent, fail, []

    async def send(self, message: Outgoing, handed: Handed = unrecorded) -> Sent:
        if self.fail is not None:
            raise self.fail
        await handed()
        self.sent.append(message)
        return Sent(f"id-{len(self.sent)}")

    async def aclose(self) -> None:
        pass


async def compose(n: Row[Any], s: Row[Any], now: datetime) -> Outgoing | str:
    if n.channel == "wa_link":
        return f"https://wa.me/{s.customer_phone.lstrip('+')}?text={n.trigger}"
    return Outgoing(n.id, n.dedupe_key, s.customer_email or "", f"{n.trigger} {s.tracking_code}", "olá")


def hashes(n: Row[Any], s: Row[Any]) -> list[str]:
    return [f"h:{s.customer_email}" if n.channel == "email" else f"h:{s.customer_phone}"]


async def queue(
    sessions: Sessions, vault: Vault, now: datetime, channel: str, n: int = 1, uf: str = "SP", key: str = "k"
) -> None:
    async with sessions() as session, session.begin():
        account = await session.scalar(select(CarrierAccount.id)) or await correios_account(
            session, vault, name="main", now=now
        )
        contact = {"customer_email": "cliente@example.com", "customer_phone": "+5511987654321", "destination_state": uf}
        await register(session, [NewShipment("correios", account, make_code("SS", 1), **contact)], now)  # type: ignore[arg-type]
        sid = await session.scalar(select(func.min(Notification.shipment_id)).select_from(Notification)) or 1
        for i in range(n):
            session.add(
                Notification(
                    dedupe_key=f"{key}{i}:{channel}",
                    shipment_id=sid,
                    trigger="posted",
                    channel=channel,
                    status="pending",
                    facts={},
                    created_at=now,
                    due_at=now,
                    attempts=0,
                )
            )


def dispatcher(sessions: Sessions, clock: SimulatedClock, cap: int | None = None, **channels: Any) -> Dispatcher:
    ports = {Channel(k): v for k, v in channels.items()}
    policy = load_policy() if cap is None else replace(load_policy(), daily_cap=cap)
    return Dispatcher(sessions, clock, ports, compose, hashes, policy=policy, rng=random.Random(1))


async def rows(sessions: Sessions) -> list[Notification]:
    async with sessions() as session:
        return list((await session.scalars(select(Notification).order_by(Notification.id))).all())


async def attempts(sessions: Sessions) -> list[tuple[str, str | None]]:
    async with sessions() as session:
        found = await session.execute(
            select(NotificationAttempt.outcome, NotificationAttempt.code).order_by(NotificationAttempt.id)
        )
        return [tuple(r) for r in found]  # type: ignore[misc]


async def test_emails_go_out_once_through_a_real_smtp_server(
    sessions: Sessions, clock: SimulatedClock, vault: Vault, smtp: tuple[Inbox, Controller]
) -> None:
    inbox, controller = smtp
    await queue(sessions, vault, clock.now(), "email", n=3)
    email = EmailChannel(f"smtp://127.0.0.1:{controller.port}", "Loja <loja@example.com>")
    d = dispatcher(sessions, clock, email=email)
    assert (await d.run_once()).total("sent") == 3
    assert (await d.run_once()).total("sent") == 0
    await email.aclose()
    assert len(inbox.messages) == 3
    assert {r.status for r in await rows(sessions)} == {"sent"} and await attempts(sessions) == [("sent", None)] * 3


async def test_smtp_down_then_up_delays_but_loses_nothing(
    sessions: Sessions, clock: SimulatedClock, vault: Vault
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    await queue(sessions, vault, clock.now(), "email")
    email = EmailChannel(f"smtp://127.0.0.1:{port}", "Loja <loja@example.com>", timeout=2)
    d = dispatcher(sessions, clock, email=email)
    assert (await d.run_once()).total("pending") == 1  # nobody listens yet
    [row] = await rows(sessions)
    assert row.status == "pending" and row.due_at > clock.now() and "smtp" in (row.reason or "").lower()
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        clock.advance(timedelta(hours=2))
        assert (await d.run_once()).total("sent") == 1
        await email.aclose()
    finally:
        controller.stop()
    assert len(inbox.messages) == 1 and [a[0] for a in await attempts(sessions)] == ["retry", "sent"]


async def test_killed_between_send_and_record_never_sends_twice(
    sessions: Sessions, clock: SimulatedClock, vault: Vault
) -> None:
    await queue(sessions, vault, clock.now(), "email")
    await queue(sessions, vault, clock.now(), "ops_webhook")
    email, hook = Fake("email"), Fake("ops_webhook", idempotent=True)
    d = dispatcher(sessions, clock, email=email, ops_webhook=hook)
    claimed = await d._claim(clock.now())  # the batch is claimed and sent ... and the process dies here
    for n, s in claimed:
        async with d._handoff() as handoff:
            await handoff.mark([n])
        await (email if n.channel == "email" else hook).send(await compose(n, s, clock.now()))  # type: ignore[arg-type]
    clock.advance(timedelta(minutes=5))  # past the lease
    report = await d.run_once()
    assert len(email.sent) == 1  # e-mail cannot be deduplicated: it is not resent, but flagged
    assert len(hook.sent) == 2 and hook.sent[0].idempotency_key == hook.sent[1].idempotency_key
    statuses = {r.channel: r.status for r in await rows(sessions)}
    assert statuses == {"email": "uncertain", "ops_webhook": "sent"}
    assert report.outcomes[("email", "uncertain")] == 1


async def test_permanent_and_rate_limited_failures(sessions: Sessions, clock: SimulatedClock, vault: Vault) -> None:
    await queue(sessions, vault, clock.now(), "email")
    d = dispatcher(sessions, clock, email=Fake("email", fail=PermanentFailure("smtp_rejected", "550 no such user")))
    await d.run_once()
    [row] = await rows(sessions)
    assert (row.status, row.reason) == ("failed", "550 no such user")
    async with sessions() as session, session.begin():
        await session.execute(update(Notification).values(status="pending", attempts=0))
    limited = Fake("email", fail=TemporaryFailure("whatsapp_rate_limited", "429", retry_after=600))
    await dispatcher(sessions, clock, email=limited).run_once()
    [row] = await rows(sessions)
    assert row.status == "pending" and row.due_at >= clock.now() + timedelta(seconds=600)


@pytest.mark.parametrize(
    ("utc_hour", "uf", "waits_until_utc_hour"),
    [
        (23, "SP", None),
        (0, "SP", 11),
        (12, "SP", None),
        (0, "AM", None),
        (1, "AM", 12),
        (11, "AM", 12),
        (12, "AM", None),
    ],
)
async def test_whatsapp_waits_out_quiet_hours_in_the_destinations_time_zone(
    sessions: Sessions, clock: SimulatedClock, vault: Vault, utc_hour: int, uf: str, waits_until_utc_hour: int | None
) -> None:
    # 00:00 UTC is 21:00 in São Paulo (quiet until 08:00, 11:00 UTC) but 20:00 in Manaus; 01:00 UTC is 21:00 there
    clock.set(datetime(2026, 11, 3, utc_hour, tzinfo=UTC))
    await queue(sessions, vault, clock.now(), "whatsapp", uf=uf)
    whatsapp = Fake("whatsapp")
    await dispatcher(sessions, clock, whatsapp=whatsapp).run_once()
    [row] = await rows(sessions)
    if waits_until_utc_hour is None:
        assert row.status == "sent" and len(whatsapp.sent) == 1
    else:
        assert row.status == "pending" and not whatsapp.sent and row.attempts == 0
        assert row.due_at.astimezone(UTC).hour == waits_until_utc_hour and row.due_at > clock.now()


async def test_opt_out_daily_cap_and_the_wa_me_queue(sessions: Sessions, clock: SimulatedClock, vault: Vault) -> None:
    await queue(sessions, vault, clock.now(), "email", n=5)
    await dispatcher(sessions, clock, email=Fake("email")).run_once()
    assert Counter(r.status for r in await rows(sessions)) == {"sent": 3, "suppressed": 2}  # three a day at most
    async with sessions() as session, session.begin():
        await session.execute(update(Notification).values(status="pending", due_at=clock.now(), sent_at=None))
        session.add(OptOut(address_hash="h:cliente@example.com", channel="email", created_at=clock.now()))
    await dispatcher(sessions, clock, email=Fake("email")).run_once()
    assert {r.reason for r in await rows(sessions)} == {"the customer opted out"}
    await queue(sessions, vault, clock.now(), "wa_link", n=1)
    await dispatcher(sessions, clock).run_once()
    link = next(r for r in await rows(sessions) if r.channel == "wa_link")
    assert link.status == "queued" and link.link and link.link.startswith("https://wa.me/5511987654321")


async def test_ops_emails_of_a_round_go_out_as_one_digest(
    sessions: Sessions, clock: SimulatedClock, vault: Vault
) -> None:
    await queue(sessions, vault, clock.now(), "ops_email", n=3)
    ops = Fake("ops_email", fail=TemporaryFailure("smtp_unavailable", "connection refused"))
    d = Dispatcher(sessions, clock, {Channel.OPS_EMAIL: ops}, compose, hashes, digest=make_digest(Settings()))
    async with sessions() as session, session.begin():  # one alert has used all its tries but one
        await session.execute(update(Notification).where(Notification.dedupe_key == "k0:ops_email").values(attempts=7))
    await d.run_once()  # the relay is down: the whole round waits, together, while any row has tries left
    waiting = await rows(sessions)
    assert [(r.status, r.attempts) for r in waiting] == [("pending", 8), ("pending", 1), ("pending", 1)]
    assert len({r.due_at for r in waiting}) == 1 and waiting[0].due_at > clock.now()
    ops.fail = None
    clock.advance(timedelta(hours=2))
    assert (await d.run_once()).total("sent") == 3
    [digest] = ops.sent
    assert digest.subject == "[Loja] 3 alertas de operação"
    assert [line for line in digest.text.splitlines() if line[:2] in ("1.", "2.", "3.")] == [
        f"{i}. posted {make_code('SS', 1)}" for i in (1, 2, 3)
    ]
    sent = await rows(sessions)
    assert {(r.status, r.provider_id) for r in sent} == {("sent", "id-1")}
    assert await attempts(sessions) == [("retry", "smtp_unavailable")] * 3 + [("sent", None)] * 3


@pytest.mark.parametrize(
    ("failure", "handed_on"),
    [
        (PermanentFailure("outside_window", "HTTP 400"), True),  # the 24-hour window is closed
        (PermanentFailure("whatsapp_auth", "HTTP 400"), True),
        (PermanentFailure("whatsapp_recipient", "HTTP 400"), False),  # the number has no WhatsApp
        (TemporaryFailure("whatsapp_unavailable", "HTTP 400"), False),  # timed out: it may have gone out
        (RuntimeError("HTTP 400"), False),  # a crash after the call: it may have gone out
    ],
)
async def test_a_whatsapp_message_surely_not_taken_is_handed_to_the_wa_me_queue(
    sessions: Sessions, clock: SimulatedClock, vault: Vault, failure: Exception, handed_on: bool
) -> None:
    await queue(sessions, vault, clock.now(), "whatsapp")
    d = dispatcher(sessions, clock, whatsapp=Fake("whatsapp", fail=failure))
    d.max_attempts = 1
    await d.run_once()
    await d.run_once()
    found = await rows(sessions)
    assert (found[0].channel, found[0].status) == ("whatsapp", "failed")
    if not handed_on:
        assert len(found) == 1 and (found[0].reason or "").endswith("HTTP 400")
        return
    assert found[0].reason == "HTTP 400; handed to wa_link"
    [link] = found[1:]  # once, though the run went on and ran again
    assert (link.channel, link.trigger, link.status, link.dedupe_key) == (
        "wa_link",
        "posted",
        "queued",
        "k0:whatsapp>wa_link",
    )
    assert link.link and link.link.startswith("https://wa.me/5511987654321")


async def test_a_channel_rate_waits_for_its_slot_or_puts_the_message_back(
    sessions: Sessions, clock: SimulatedClock, vault: Vault
) -> None:
    await queue(sessions, vault, clock.now(), "ops_webhook", n=5)
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    limit = RateLimit(2, monotonic=lambda: 100.0, sleep=sleep)  # two a second; the clock stands still
    hook = Fake("ops_webhook", idempotent=True)
    d = Dispatcher(sessions, clock, {Channel.OPS_WEBHOOK: hook}, compose, hashes, limits={Channel.OPS_WEBHOOK: limit})
    report = await d.run_once()
    assert (report.total("sent"), report.total("pending")) == (4, 1)
    assert sorted(slept) == [0.5, 1.0]  # a burst of two, then one slot each half second, up to a second away
    [later] = [r for r in await rows(sessions) if r.status == "pending"]
    assert later.attempts == 0 and later.due_at == clock.now() + timedelta(seconds=1.5)
    assert len(hook.sent) == 4 and len(await attempts(sessions)) == 4


class Stuck(Fake):
    """A channel that takes the first message and never comes back: the process is killed meanwhile."""

    def __init__(self) -> None:
        super().__init__("email")
        self.taken, self.holding = asyncio.Event(), []
        self.connection = asyncio.Lock()  # one message at a time, as one SMTP connection

    async def send(self, message: Outgoing, handed: Handed = unrecorded) -> Sent:
        await self.connection.acquire()
        await handed()
        self.holding.append(message)
        self.taken.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


async def test_killed_mid_batch_only_the_message_in_the_channels_hands_is_uncertain(
    sessions: Sessions, clock: SimulatedClock, vault: Vault
) -> None:
    await queue(sessions, vault, clock.now(), "email", n=8)
    stuck = Stuck()
    run = asyncio.create_task(dispatcher(sessions, clock, 10, email=stuck).run_once())
    await asyncio.wait_for(stuck.taken.wait(), 10)
    run.cancel()  # killed during the first send: nothing after it runs
    with contextlib.suppress(asyncio.CancelledError):
        await run
    [handed] = stuck.holding
    assert {r.status for r in await rows(sessions)} == {"sending"}
    clock.advance(timedelta(seconds=30))  # within the lease: nobody touches them
    email = Fake("email")
    assert (await dispatcher(sessions, clock, 10, email=email).run_once()).total("sent") == 0
    clock.advance(timedelta(minutes=5))  # past the lease
    report = await dispatcher(sessions, clock, 10, email=email).run_once()
    await dispatcher(sessions, clock, 10, email=email).run_once()
    assert sorted(m.notification_id for m in email.sent) == sorted(
        r.id for r in await rows(sessions) if r.id != handed.notification_id
    )  # the seven never tried: each sent once
    found = {r.id: r for r in await rows(sessions)}
    assert found.pop(handed.notification_id).status == "uncertain"
    assert {(r.status, r.attempts) for r in found.values()} == {("sent", 1)}
    assert report.outcomes[("email", "uncertain")] == 1 and report.outcomes[("email", "requeued")] == 7
    assert Counter(a for a, _ in await attempts(sessions)) == {"sent": 7, "uncertain": 1}


class Taking(Fake):
    """A channel whose server accepts the first ``accepts`` messages, then takes the next ones and never
    answers (``full`` once it holds ``holds`` of them): the process is killed while they are in its hands."""

    def __init__(self, accepts: int, holds: int) -> None:
        super().__init__("email")
        self.accepts, self.holds, self.holding, self.full = accepts, holds, [], asyncio.Event()

    async def send(self, message: Outgoing, handed: Handed = unrecorded) -> Sent:
        await handed()
        if len(self.sent) < self.accepts:
            self.sent.append(message)
            return Sent(f"id-{len(self.sent)}")
        self.holding.append(message)
        if len(self.holding) == self.holds:
            self.full.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


async def test_killed_mid_batch_the_messages_the_channel_accepted_stay_sent(
    sessions: Sessions, clock: SimulatedClock, vault: Vault
) -> None:
    await queue(sessions, vault, clock.now(), "email", n=10)
    taking = Taking(accepts=5, holds=3)
    first = dispatcher(sessions, clock, 20, email=taking)
    first.concurrency = 3
    run = asyncio.create_task(first.run_once())
    # every slot is held by a send in the server's hands: each accepted one gave its slot back, once written
    await asyncio.wait_for(taking.full.wait(), 10)
    run.cancel()  # killed: nothing after this runs
    with contextlib.suppress(asyncio.CancelledError):
        await run
    accepted = {m.notification_id for m in taking.sent}
    in_flight = {m.notification_id for m in taking.holding}
    clock.advance(timedelta(minutes=5))  # past the lease
    email = Fake("email")
    report = await dispatcher(sessions, clock, 20, email=email).run_once()
    found = {r.id: r for r in await rows(sessions)}
    assert {i for i, r in found.items() if r.status == "uncertain"} == in_flight  # only those in flight at the kill
    assert {i for i, r in found.items() if r.status == "sent" and r.provider_id and r.sent_at} == set(found) - in_flight
    assert {m.notification_id for m in email.sent} == set(found) - accepted - in_flight  # the two never tried
    assert (report.total("uncertain"), report.total("requeued"), report.total("sent")) == (3, 2, 2)
    assert Counter(a for a, _ in await attempts(sessions)) == {"sent": 7, "uncertain": 3}


async def test_a_batchs_outcomes_are_written_a_few_at_a_time(
    sessions: Sessions, clock: SimulatedClock, vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    await queue(sessions, vault, clock.now(), "email", n=40)
    writes: list[int] = []

    async def counted(session: AsyncSession, rows: list[dict[str, Any]], *args: Any) -> None:
        writes.append(len(rows))
        await write(session, rows, *args)

    monkeypatch.setattr(record, "write", counted)
    d = dispatcher(sessions, clock, 50, email=Fake("email"))
    assert (await d.run_once()).total("sent") == 40
    assert sum(writes) == 40 and len(writes) <= 40 // 2  # a few at a time (here four), not one per message
    assert Counter(a for a, _ in await attempts(sessions)) == {"sent": 40}


async def test_outcomes_whose_write_failed_are_written_with_the_next(
    sessions: Sessions, clock: SimulatedClock, vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    await queue(sessions, vault, clock.now(), "email", n=6)
    failures = [OSError("the database went away")]

    async def flaky(session: AsyncSession, *args: Any) -> None:
        if failures:
            raise failures.pop()
        await write(session, *args)

    monkeypatch.setattr(record, "write", flaky)
    email = Fake("email")
    d = dispatcher(sessions, clock, 10, email=email)
    d.concurrency = 2
    assert (await d.run_once()).total("sent") == 6
    assert not failures  # the first write failed: its outcomes waited for the next
    assert len(email.sent) == 6 and {(r.status, r.attempts) for r in await rows(sessions)} == {("sent", 1)}
    assert await attempts(sessions) == [("sent", None)] * 6


async def test_a_dispatcher_whose_lease_ran_out_sends_nothing_it_no_longer_holds(
    sessions: Sessions, clock: SimulatedClock, vault: Vault
) -> None:
    await queue(sessions, vault, clock.now(), "email", n=2)
    slow = dispatcher(sessions, clock, 10, email=Fake("email"))
    claimed = await slow._claim(clock.now())  # claimed, then the process stalls past its lease
    clock.advance(timedelta(minutes=5))
    other = Fake("email")
    assert (await dispatcher(sessions, clock, 10, email=other).run_once()).total("sent") == 2
    late = Fake("email")
    slow.channels = {Channel.EMAIL: late}
    report = DispatchReport()
    await slow._deliver(claimed, report)  # wakes up: both rows are someone else's now
    assert late.sent == [] and report.total("lost") == 2
    assert {(r.status, r.attempts) for r in await rows(sessions)} == {("sent", 1)}


async def test_the_daily_cap_counts_the_local_day_of_the_destination(
    sessions: Sessions, clock: SimulatedClock, vault: Vault
) -> None:
    clock.set(datetime(2026, 11, 3, 1, 30, tzinfo=UTC))  # 22:30 on the 2nd in São Paulo
    await queue(sessions, vault, clock.now(), "email", n=3)
    email = Fake("email")
    assert (await dispatcher(sessions, clock, email=email).run_once()).total("sent") == 3
    clock.set(datetime(2026, 11, 3, 2, 30, tzinfo=UTC))  # 23:30 there, another UTC day: still the 2nd
    await queue(sessions, vault, clock.now(), "email", key="b")
    assert (await dispatcher(sessions, clock, email=email).run_once()).total("suppressed") == 1
    clock.set(datetime(2026, 11, 3, 3, 30, tzinfo=UTC))  # 00:30 on the 3rd there, two hours after the first
    await queue(sessions, vault, clock.now(), "email", key="c")
    assert (await dispatcher(sessions, clock, email=email).run_once()).total("sent") == 1


async def test_wa_me_links_count_toward_the_cap_across_batches_as_within_one(
    sessions: Sessions, clock: SimulatedClock, vault: Vault
) -> None:
    await queue(sessions, vault, clock.now(), "wa_link", n=3)
    assert (await dispatcher(sessions, clock).run_once()).total("queued") == 3
    clock.advance(timedelta(hours=1))
    await queue(sessions, vault, clock.now(), "email")
    email = Fake("email")
    assert (await dispatcher(sessions, clock, email=email).run_once()).total("suppressed") == 1
    assert email.sent == []
    async with sessions() as session, session.begin():  # those links were never sent after all
        await session.execute(update(Notification).where(Notification.channel == "wa_link").values(status="failed"))
    await queue(sessions, vault, clock.now(), "wa_link", key="b")  # a link and e-mails in one batch: three
    await queue(sessions, vault, clock.now(), "email", n=2, key="b")
    report = await dispatcher(sessions, clock, email=email).run_once()
    assert (report.total("sent"), report.total("queued"), report.total("suppressed")) == (2, 1, 0)


async def test_the_daily_cap_never_holds_back_the_delivery_nor_its_checkin(
    sessions: Sessions, clock: SimulatedClock, vault: Vault
) -> None:
    async def send(key: str, trigger: str, n: int = 1) -> None:
        await queue(sessions, vault, clock.now(), "email", n=n, key=key)
        async with sessions() as session, session.begin():
            await session.execute(
                update(Notification).where(Notification.dedupe_key.startswith(key)).values(trigger=trigger)
            )
        await dispatcher(sessions, clock, email=email).run_once()

    email = Fake("email")
    await send("a", "delivered")  # the delivery and its check-in count for nothing...
    await send("b", "checkin")
    await send("c", "posted", n=3)  # ... so the day's three messages still go out
    await send("d", "delayed")  # the cap is reached: held back
    await send("e", "delivered")  # ... but never the delivery (nor the check-in)
    await send("f", "checkin")
    status = [(r.trigger, r.status) for r in await rows(sessions)]
    assert status == [
        ("delivered", "sent"),
        ("checkin", "sent"),
        *[("posted", "sent")] * 3,
        ("delayed", "suppressed"),
        ("delivered", "sent"),
        ("checkin", "sent"),
    ]
