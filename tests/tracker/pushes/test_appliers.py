"""The push applier with several processes: each transaction claims pushes no other holds, so appliers share the
backlog (none waits on, or spins behind, another's chunk) and every push is applied once."""

import asyncio
import random
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from tests.carriers.loggi.samples import CODE, item, package
from tests.tracker.ingest.conftest import make_app, serve
from tests.tracker.pushes.conftest import LOGGI, account, loggi_push, ship
from tracker.clock import SimulatedClock
from tracker.models import Shipment, TrackingEvent
from tracker.pushes import applier_of, pending
from tracker.pushes.apply import apply_results
from tracker.pushes.models import CarrierPush
from tracker.pushes.pending import apply_pending
from tracker.vault import Vault

Sessions = async_sessionmaker[AsyncSession]
OTHER = "SH0000000001LG"


async def stored_pushes(
    engine: AsyncEngine, clock: SimulatedClock, count: int, about: tuple[str, ...] = (CODE,)
) -> None:
    """``count`` Loggi pushes about the codes ``about``, stored and not applied (as if its process stopped)."""
    made = make_app(engine, clock)
    async with serve(engine, clock, made) as client:
        applier_of(made.state.runtime).kick = lambda: None  # type: ignore[method-assign]
        for n in range(count):
            history = [item("3", f"2021-05-04T{10 + n}:00:00Z")]
            push = loggi_push([package(history, trackingCode=code) for code in about])
            assert (await client.post("/v1/webhooks/carriers/loggi", **push)).status_code == 202


async def codes(sessions: Sessions) -> list[str]:
    async with sessions() as session:
        query = select(TrackingEvent.occurred_at).join(Shipment).where(Shipment.tracking_code == CODE)
        return [f"{when:%H}" for when in await session.scalars(query.order_by(TrackingEvent.occurred_at))]


async def test_an_applier_takes_the_pushes_another_does_not_hold_and_returns(
    engine: AsyncEngine, sessions: Sessions, vault: Vault, clock: SimulatedClock
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("row locks: SQLite has one writer")
    account_id = await account(sessions, vault, clock, "loggi", "loja-loggi", **LOGGI)
    await ship(sessions, clock, "loggi", account_id, CODE)
    await stored_pushes(engine, clock, 3)
    rng: Any = random.Random(1)
    async with engine.connect() as other:  # another process's applier, in the middle of the oldest push
        await other.execute(text("SELECT id FROM carrier_pushes ORDER BY id LIMIT 1 FOR UPDATE"))
        report = await asyncio.wait_for(
            apply_pending(sessions, vault, now=clock.now(), rng=rng, detector=None, chunk=1), timeout=10
        )
        assert report.pushes == 2  # the two it could take, one per transaction; it did not wait for the third
        assert await codes(sessions) == ["11", "12"]
        await other.rollback()
    again = await apply_pending(sessions, vault, now=clock.now(), rng=rng, detector=None)
    assert again.pushes == 1
    assert await codes(sessions) == ["10", "11", "12"]
    async with sessions() as session:
        assert all(p.applied_at is not None for p in await session.scalars(select(CarrierPush)))


async def test_appliers_of_several_processes_apply_each_push_once(
    engine: AsyncEngine, sessions: Sessions, vault: Vault, clock: SimulatedClock
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("several processes apply on PostgreSQL; on SQLite one process applies, one pass at a time")
    account_id = await account(sessions, vault, clock, "loggi", "loja-loggi", **LOGGI)
    await ship(sessions, clock, "loggi", account_id, CODE)
    await stored_pushes(engine, clock, 6)
    reports = await asyncio.gather(
        *(
            apply_pending(sessions, vault, now=clock.now(), rng=random.Random(n), detector=None, chunk=2)
            for n in range(3)
        )
    )
    assert sum(r.pushes for r in reports) == 6
    assert await codes(sessions) == [str(10 + n) for n in range(6)]


async def test_one_process_applies_one_pass_at_a_time(
    engine: AsyncEngine, sessions: Sessions, vault: Vault, clock: SimulatedClock
) -> None:
    """The scheduled job and a kicked drain may meet in one process: the second waits, then finds nothing left."""
    account_id = await account(sessions, vault, clock, "loggi", "loja-loggi", **LOGGI)
    await ship(sessions, clock, "loggi", account_id, CODE)
    await stored_pushes(engine, clock, 4)
    made = make_app(engine, clock)
    async with serve(engine, clock, made):
        applier = applier_of(made.state.runtime)
        reports = await asyncio.gather(applier.apply(), applier.apply(), applier.apply())
    assert sorted(r.pushes for r in reports) == [0, 0, 4]
    assert await codes(sessions) == ["10", "11", "12", "13"]


@pytest.mark.parametrize(("cap", "chunks"), [(3, [2, 2, 2]), (4, [4, 2]), (1, [2, 2, 2]), (100, [6])])
async def test_a_transaction_applies_at_most_the_shipment_cap_and_at_least_one_push(
    engine: AsyncEngine,
    sessions: Sessions,
    vault: Vault,
    clock: SimulatedClock,
    monkeypatch: pytest.MonkeyPatch,
    cap: int,
    chunks: list[int],
) -> None:
    account_id = await account(sessions, vault, clock, "loggi", "loja-loggi", **LOGGI)
    await ship(sessions, clock, "loggi", account_id, CODE)
    await ship(sessions, clock, "loggi", account_id, OTHER)
    await stored_pushes(engine, clock, 3, (CODE, OTHER))  # each speaks of two shipments
    sizes: list[int] = []

    async def recorded(session: AsyncSession, items: Any, **kwargs: Any) -> Any:
        sizes.append(len(items))
        return await apply_results(session, items, **kwargs)

    monkeypatch.setattr(pending, "apply_results", recorded)
    report = await apply_pending(sessions, vault, now=clock.now(), rng=random.Random(1), detector=None, shipments=cap)
    assert sizes == chunks
    assert report.pushes == 3 and report.poll.events == 6
    assert await codes(sessions) == ["10", "11", "12"]
