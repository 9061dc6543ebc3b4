"""The daily rollups: known answers on hand-built shipments, idempotent re-runs, and a late change re-rolling only
the days it touches."""

import asyncio
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from tests.tracker.metrics.conftest import World, at, build
from tracker.config import Settings
from tracker.metrics import tasks as metrics_tasks
from tracker.metrics.models import DailyMetrics, HistogramMetrics, IncidentMetrics
from tracker.metrics.rollup import roll_changed, roll_days, runs
from tracker.models import Shipment, TrackingEvent
from zelo import features

NOV2, NOV3 = date(2026, 11, 2), date(2026, 11, 3)
COUNTS = (
    "shipments", "delivered", "first_attempt", "judged_promise", "on_time_promise", "judged_deadline",
    "on_time_deadline", "late_1", "late_2_3", "late_4_7", "late_8_plus", "notifications_sent", "claims_filed",
    "claims_approved", "claims_denied", "claims_paid",
)  # fmt: skip


async def daily(sessions: async_sessionmaker[AsyncSession]) -> list[tuple[Any, ...]]:
    async with sessions() as session:
        rows = (await session.scalars(select(DailyMetrics).order_by(DailyMetrics.day, DailyMetrics.origin_state))).all()
    return [
        (
            *(r.day, r.carrier, r.service, r.origin_state, r.destination_state, r.category),
            *(getattr(r, c) for c in COUNTS),
            *(float(r.amount_claimed), float(r.amount_recovered)),
        )
        for r in rows
    ]


async def everything(sessions: async_sessionmaker[AsyncSession]) -> tuple[list[Any], list[Any], list[Any]]:
    async with sessions() as session:
        incidents = await session.execute(
            select(IncidentMetrics.day, IncidentMetrics.origin_state, IncidentMetrics.kind, IncidentMetrics.opened,
                   IncidentMetrics.resolved, IncidentMetrics.tmr_hours)
            .order_by(IncidentMetrics.day, IncidentMetrics.kind)
        )  # fmt: skip
        histograms = await session.execute(
            select(HistogramMetrics.day, HistogramMetrics.measure, HistogramMetrics.kind, HistogramMetrics.bucket,
                   HistogramMetrics.count).order_by(HistogramMetrics.day, HistogramMetrics.measure,
                                                    HistogramMetrics.bucket)
        )  # fmt: skip
        return await daily(sessions), [tuple(r) for r in incidents], [tuple(r) for r in histograms]


async def test_a_rollup_counts_what_became_of_each_days_shipments(world: World) -> None:
    await build(world)
    async with world.sessions() as session, session.begin():
        assert await roll_changed(session, world.clock.now()) == [NOV2, NOV3]
    rows, incidents, histograms = await everything(world.sessions)
    assert rows == [
        (NOV2, "correios", "SEDEX", "MG", "RJ", "", 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 20.0, 0.0),
        (NOV2, "correios", "SEDEX", "SP", "RJ", "", 2, 2, 1, 2, 1, 2, 1, 1, 0, 0, 0, 1, 1, 1, 0, 1, 50.0, 30.0),
        (NOV3, "correios", "", "SP", "SP", "moda", 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0.0, 0.0),
    ]
    async with world.sessions() as session:
        ratings = (await session.execute(select(DailyMetrics.origin_state, DailyMetrics.rated, DailyMetrics.rating_sum)
                   .order_by(DailyMetrics.day, DailyMetrics.origin_state))).all()  # fmt: skip
    assert [tuple(r) for r in ratings] == [("MG", 0, 0), ("SP", 2, 7), ("SP", 0, 0)]
    assert [(d, o, k, n, r, round(h, 3)) for d, o, k, n, r, h in incidents] == [
        (NOV2, "MG", "delayed", 1, 0, 0.0),
        (NOV2, "SP", "failed_attempt", 1, 1, 24.0),
        (NOV3, "SP", "stalled", 1, 1, 2.2),
    ]
    assert histograms == [
        (NOV2, "tmr", "failed_attempt", 24, 1),
        (NOV2, "transit", "", 2, 1),
        (NOV2, "transit", "", 4, 1),
        (NOV3, "tmr", "stalled", 3, 1),  # whole hours, rounded up
        (NOV3, "transit", "", 7, 1),
    ]


async def test_re_rolling_a_day_gives_the_same_rows(world: World) -> None:
    await build(world)
    async with world.sessions() as session, session.begin():
        await roll_changed(session, world.clock.now())
    first = await everything(world.sessions)
    for _ in range(2):
        async with world.sessions() as session, session.begin():
            await roll_days(session, NOV2, NOV3)
    assert await everything(world.sessions) == first
    world.clock.advance(timedelta(hours=1))
    async with world.sessions() as session, session.begin():  # nothing changed within the overlap but the build
        await roll_changed(session, world.clock.now())
    assert await everything(world.sessions) == first


async def test_a_late_event_re_rolls_only_the_days_it_touches(world: World) -> None:
    ids = await build(world)
    world.clock.advance(timedelta(hours=1))  # past the overlap: the build itself is not "changed since"
    async with world.sessions() as session, session.begin():
        await roll_changed(session, world.clock.now())
    async with world.sessions() as session:
        kept = set(await session.scalars(select(DailyMetrics.id).where(DailyMetrics.day == NOV2)))
    world.clock.advance(timedelta(days=20))
    async with world.sessions() as session, session.begin():  # c is delivered at last, as a poll would store it
        session.add(TrackingEvent(shipment_id=ids["c"], occurred_at=at(20), code="BDE01", status="delivered",
                                  description="entregue", raw={}, recorded_at=world.clock.now()))  # fmt: skip
        await session.execute(
            update(Shipment).where(Shipment.id == ids["c"]).values(delivered_at=at(20), updated_at=world.clock.now())
        )
    async with world.sessions() as session, session.begin():
        assert await roll_changed(session, world.clock.now()) == [NOV2]
    async with world.sessions() as session:
        rebuilt = set(await session.scalars(select(DailyMetrics.id).where(DailyMetrics.day == NOV2)))
        nov3 = await session.scalar(select(DailyMetrics.id).where(DailyMetrics.day == NOV3))
    assert rebuilt.isdisjoint(kept) and nov3 is not None and nov3 < min(rebuilt)  # 11-03 left as it was
    [mg] = [r for r in await daily(world.sessions) if r[3] == "MG"]
    assert mg[6:11] == (1, 1, 1, 1, 0)  # delivered, first attempt, judged, 15 days late
    assert mg[16] == 1  # late 8+

    world.clock.advance(timedelta(days=1))
    async with world.sessions() as session, session.begin():  # the ERP corrects c's ship date: it moves to 11-03
        await session.execute(
            update(Shipment).where(Shipment.id == ids["c"]).values(shipped_at=at(3, 12), updated_at=world.clock.now())
        )
    async with world.sessions() as session, session.begin():
        assert await roll_changed(session, world.clock.now()) == [NOV2, NOV3]  # where it was, where it is
    assert [(r[0], r[3], r[6]) for r in await daily(world.sessions)] == [
        (NOV2, "SP", 2),
        (NOV3, "MG", 1),
        (NOV3, "SP", 1),
    ]


def test_days_are_rolled_in_consecutive_runs() -> None:
    days = {NOV2, NOV3, date(2026, 11, 5), date(2026, 11, 7), date(2026, 11, 8)}
    assert list(runs(days)) == [(NOV2, NOV3), (date(2026, 11, 5),) * 2, (date(2026, 11, 7), date(2026, 11, 8))]


async def test_the_scheduled_job_rolls_up_what_changed(world: World, engine: AsyncEngine) -> None:
    await build(world)
    url = engine.url.render_as_string(hide_password=False)
    async with features.open_runtime(Settings(_env_file=None, database_url=url), world.clock) as rt:  # type: ignore[call-arg]
        assert any(e.job is metrics_tasks.rollup_metrics and e.every == 900 for e in features.SCHEDULE)
        world.clock.advance(timedelta(days=30))  # long after the build (its last message went out on 11-05)
        assert await rt.jobs["rollup_metrics"]({"runtime": rt}) == {"days": 2, "first": "2026-11-02"}
        world.clock.advance(timedelta(minutes=15))
        assert await rt.jobs["rollup_metrics"]({"runtime": rt}) == {"days": 0, "first": None}  # nothing new
    assert [r[6] for r in await daily(world.sessions)] == [1, 2, 1]


@pytest.mark.parametrize("engine", ["postgres"], indirect=True)
async def test_the_rollup_marks_shipments_in_id_order_so_a_store_locking_in_id_order_does_not_deadlock_it(
    world: World,
) -> None:
    # the higher id first on disk and shipped first: a scan of the day meets it first
    later, first = await world.shipment(at(10, 10), id=1002), await world.shipment(at(10, 12), id=1001)
    rows = select(Shipment.id).order_by(Shipment.id).with_for_update()
    async with world.sessions() as store, store.begin():  # a poll's store: its chunk's rows locked in id order
        await store.execute(rows.where(Shipment.id == first))
        rollup = asyncio.create_task(_roll_day(world, date(2026, 11, 10)))
        await asyncio.sleep(0.5)  # the rollup waits for the first row (or, scanning, holds the other)
        await store.execute(rows.where(Shipment.id == later))
    await asyncio.wait_for(rollup, timeout=10)
    async with world.sessions() as session:
        marked = await session.execute(select(Shipment.id, Shipment.rolled_day).order_by(Shipment.id))
        assert list(marked) == [(first, date(2026, 11, 10)), (later, date(2026, 11, 10))]


async def _roll_day(world: World, day: date) -> None:
    async with world.sessions() as session, session.begin():
        await roll_days(session, day, day)
