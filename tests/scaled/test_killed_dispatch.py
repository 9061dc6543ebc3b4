"""A worker killed with SIGKILL in the middle of a notification dispatch (e-mail to a slow SMTP server on
loopback): after a new worker takes over, no message reached the server twice, and each is sent or, if it
was in the server's hands when the worker died, marked uncertain for ops (never resent blind); those the server
had accepted stay sent, but for the few whose outcome was still unwritten (at most one per send in flight)."""

import asyncio
import socket
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from arq import ArqRedis
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from carriers.correios.s10 import make_code
from notifier.channels.email import message_id
from notifier.dispatcher import Dispatcher
from notifier.models import Notification
from tests.scaled.harness import SECRET, Workers, one_more_run, until
from tests.support import correios_account
from tracker.db import make_sessionmaker
from tracker.models import Shipment
from tracker.shipments.service import NewShipment, register
from tracker.vault import Vault

MESSAGES = 16
IN_FLIGHT = Dispatcher.concurrency  # sends whose outcome may be unwritten at any moment


class SlowInbox:
    """Takes each message, then answers after 0.4 s: a dispatch of a dozen takes seconds."""

    def __init__(self) -> None:
        self.message_ids: list[str] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.message_ids.append(str(message_from_bytes(envelope.content)["Message-ID"]))
        await asyncio.sleep(0.4)
        return "250 OK"


@pytest.fixture
def inbox() -> Iterator[tuple[SlowInbox, int]]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    found = SlowInbox()
    controller = Controller(found, hostname="127.0.0.1", port=port)
    controller.start()
    yield found, port
    controller.stop()


async def queued(pg: AsyncEngine, count: int) -> None:
    """``count`` shipments, each with one e-mail due now."""
    now = datetime.now(UTC)
    async with make_sessionmaker(pg)() as session, session.begin():
        account = await correios_account(session, Vault(SECRET), name="main", base_url="http://127.0.0.1:9", now=now)
        contact = {"customer_email": "cliente@example.com", "destination_state": "SP", "customer_consent": True}
        shipments = [NewShipment("correios", account, make_code("DM", i), **contact) for i in range(count)]  # type: ignore[arg-type]
        await register(session, shipments, now)
        for sid in await session.scalars(select(Shipment.id)):
            session.add(
                Notification(
                    dedupe_key=f"posted:{sid}:email", shipment_id=sid, trigger="posted", channel="email",
                    status="pending", facts={}, created_at=now, due_at=now, attempts=0,
                )
            )  # fmt: skip


async def statuses(pg: AsyncEngine) -> Counter[str]:
    async with make_sessionmaker(pg)() as session:
        return Counter(await session.scalars(select(Notification.status)))


async def test_a_worker_killed_mid_dispatch_sends_no_message_twice(
    redis: ArqRedis, pg: AsyncEngine, workers: Workers, inbox: tuple[SlowInbox, int]
) -> None:
    sink, port = inbox
    await queued(pg, MESSAGES)
    first = workers.start(smtp_url=f"smtp://127.0.0.1:{port}", worker_slots=1)
    await until(lambda: len(sink.message_ids) >= IN_FLIGHT + 2, 30, "the first e-mails", workers.logs)
    workers.kill(first)
    before = set(sink.message_ids)  # handed to the server before the kill
    assert len(before) < MESSAGES, "the worker was killed after the dispatch, not in it"
    async with make_sessionmaker(pg)() as session, session.begin():  # the send lease (2 minutes) has passed
        lapsed = datetime.now(UTC) - timedelta(seconds=1)
        await session.execute(update(Notification).where(Notification.status == "sending").values(due_at=lapsed))
    workers.start(smtp_url=f"smtp://127.0.0.1:{port}", worker_slots=1)
    await one_more_run(redis, "dispatch")  # the killed run holds this period's id: one more, as the next tick

    async def settled() -> bool:
        found = await statuses(pg)
        return found["pending"] == found["sending"] == 0

    await until(settled, 30, "every message sent or marked", workers.logs)
    found = await statuses(pg)
    assert set(found) <= {"sent", "uncertain"} and found["sent"] + found["uncertain"] == MESSAGES, found
    seen = Counter(sink.message_ids)
    assert max(seen.values()) == 1, seen  # no message reached the server twice
    keys: dict[str, set[str]] = {"sent": set(), "uncertain": set()}
    async with make_sessionmaker(pg)() as session:
        for key, status in await session.execute(select(Notification.dedupe_key, Notification.status)):
            keys[status].add(message_id(key))
    assert keys["sent"] <= set(seen)  # every message recorded sent reached the server, once
    # uncertain: only those in the server's hands, or accepted with their outcome unwritten, when the worker
    # died (and perhaps one between its envelope and DATA); the others it had accepted are sent
    assert len(keys["uncertain"]) <= IN_FLIGHT and len(keys["uncertain"] - before) <= 1, (len(before), keys)
    assert set(seen) <= keys["sent"] | keys["uncertain"]
