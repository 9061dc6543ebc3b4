"""Ops hear of an incident whose triage deadline is about to pass, once per incident and deadline."""

from datetime import UTC, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from notifier.alerts import queue_sla_alerts
from notifier.models import Notification
from notifier.outbox import Outbox
from tests.tracker.detector.test_sweep import silent_parcels
from tracker.clock import SimulatedClock
from tracker.config import Settings
from tracker.detector.service import Detector
from tracker.detector.sweep import sweep
from tracker.vault import Vault

Sessions = async_sessionmaker[AsyncSession]


async def test_sla_alerts_once_per_deadline(sessions: Sessions, clock: SimulatedClock, vault: Vault) -> None:
    clock.advance(timedelta(days=4))
    await silent_parcels(sessions, vault, clock.now(), n=2)
    await sweep(sessions, Detector(), clock.now())  # two stalled incidents, due at 18:00 in Brasília
    outbox = Outbox(Settings(ops_webhook_url="http://ops.example/hook", ops_email="operacao@loja.example"))
    async with sessions() as session, session.begin():
        assert await queue_sla_alerts(session, outbox, clock.now()) == 0  # ten hours left
    clock.advance(timedelta(hours=9, minutes=25))
    async with sessions() as session, session.begin():
        assert await queue_sla_alerts(session, outbox, clock.now()) == 4  # two incidents, two ops channels
    async with sessions() as session, session.begin():
        assert await queue_sla_alerts(session, outbox, clock.now()) == 0  # already queued
        rows = (await session.scalars(select(Notification))).all()
    assert {(r.trigger, r.channel) for r in rows} == {("ops_sla", "ops_webhook"), ("ops_sla", "ops_email")}
    due = {r.channel: r.due_at.replace(tzinfo=UTC) for r in rows}
    assert due == {"ops_webhook": clock.now(), "ops_email": clock.now() + timedelta(minutes=5)}  # the 15-min round
    async with sessions() as session, session.begin():
        assert await queue_sla_alerts(session, Outbox(Settings()), clock.now()) == 0  # no ops channel configured
