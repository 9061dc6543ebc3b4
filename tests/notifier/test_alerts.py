"""Ops hear of an incident whose triage deadline is about to pass, or has passed (overdue), once per incident
and deadline."""

from datetime import UTC, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from notifier.alerts import queue_sla_alerts
from notifier.models import Notification
from notifier.outbox import Outbox
from tests.tracker.detector.test_sweep import silent_parcels
from tracker.clock import SimulatedClock
from tracker.config import Settings
from tracker.detector.models import Incident
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


OPS = Settings(ops_webhook_url="http://ops.example/hook", ops_email="operacao@loja.example")


async def _sla_rows(sessions: Sessions) -> list[Notification]:
    async with sessions() as session:
        query = select(Notification).where(Notification.trigger == "ops_sla").order_by(Notification.id)
        return list((await session.scalars(query)).all())


async def test_an_incident_past_its_deadline_is_alerted_once_marked_overdue(
    sessions: Sessions, clock: SimulatedClock, vault: Vault
) -> None:
    clock.advance(timedelta(days=4))
    await silent_parcels(sessions, vault, clock.now(), n=2)
    await sweep(sessions, Detector(), clock.now())  # due at 18:00 in Brasília
    clock.advance(timedelta(days=2))  # nothing ran while the deadline passed
    async with sessions() as session, session.begin():
        await session.execute(update(Incident).where(Incident.id == 2).values(status="triaged"))  # someone saw it
    async with sessions() as session, session.begin():
        assert await queue_sla_alerts(session, Outbox(OPS), clock.now()) == 2  # one incident, two ops channels
    for _ in range(2):  # a re-run, and a restarted process with a new outbox
        async with sessions() as session, session.begin():
            assert await queue_sla_alerts(session, Outbox(OPS), clock.now()) == 0
    rows = await _sla_rows(sessions)
    assert {(r.incident_id, r.facts["overdue"]) for r in rows} == {(1, True)}
    assert all(r.facts["next_action"] and r.facts["owner"] == "ops" for r in rows)


async def test_one_sla_alert_per_deadline_and_a_new_one_for_a_new_deadline(
    sessions: Sessions, clock: SimulatedClock, vault: Vault
) -> None:
    clock.advance(timedelta(days=4))
    await silent_parcels(sessions, vault, clock.now(), n=1)
    await sweep(sessions, Detector(), clock.now())
    outbox = Outbox(Settings(ops_webhook_url="http://ops.example/hook"))
    clock.advance(timedelta(hours=9, minutes=30))  # half an hour left: warned
    async with sessions() as session, session.begin():
        assert await queue_sla_alerts(session, outbox, clock.now()) == 1
    clock.advance(timedelta(hours=2))  # now past it: already alerted for this deadline
    async with sessions() as session, session.begin():
        assert await queue_sla_alerts(session, outbox, clock.now()) == 0
    async with sessions() as session, session.begin():  # reopened: a new deadline, already past
        fresh = clock.now() - timedelta(minutes=5)
        await session.execute(update(Incident).values(triage_due_at=fresh, updated_at=clock.now()))
    async with sessions() as session, session.begin():
        assert await queue_sla_alerts(session, outbox, clock.now()) == 1
    rows = await _sla_rows(sessions)
    assert [r.facts["overdue"] for r in rows] == [False, True]
