"""A poll run stores up to ``Poller.stores`` chunks at once (three on PostgreSQL, one on SQLite), each fully."""

import asyncio
import contextlib
import random
from dataclasses import dataclass, field
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from carriers.base import ResultError, Status, TrackingResult
from tests.support import RecordingSleep
from tests.tracker.fake_carrier import FakeCarrier, events
from tests.tracker.polling.support import Sessions, add
from tracker.clock import SimulatedClock
from tracker.config import Settings
from tracker.models import CarrierAccount, Shipment, TrackingEvent
from tracker.polling import poller_of
from tracker.polling.cycle import Chunk
from tracker.polling.poller import Poller
from tracker.polling.report import PollReport
from tracker.runtime import open_runtime
from tracker.vault import Vault

POSTGRES = pytest.mark.parametrize("engine", ["postgres"], indirect=True)  # SQLite has one writer: stores=1


@dataclass
class _Watched(Poller):
    """A poller whose stores say when they start and end; each waits (a moment at most) for another to start,
    so that two stores allowed at once are seen at once."""

    seen: list[tuple[str, frozenset[int]]] = field(default_factory=list)
    inside: int = 0
    peak: int = 0
    overlapped: asyncio.Event = field(default_factory=asyncio.Event)

    async def store(self, chunk: Chunk) -> PollReport:
        ids = frozenset(r.id for r in chunk.rows)
        self.inside += 1
        self.peak = max(self.peak, self.inside)
        self.seen.append(("in", ids))
        if self.inside > 1:
            self.overlapped.set()
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.overlapped.wait(), 0.25)
            return await super().store(chunk)
        finally:
            self.inside -= 1
            self.seen.append(("out", ids))


def _watched(sessions: Sessions, clock: SimulatedClock, vault: Vault, **kw: object) -> _Watched:
    return _Watched(sessions, httpx.AsyncClient(), clock, vault, sleep=RecordingSleep(), rng=random.Random(1), **kw)  # type: ignore[arg-type]


CODES = [f"FK{i}" for i in range(6)]


async def _six_due(sessions: Sessions, clock: SimulatedClock, carrier: FakeCarrier, account_id: int) -> None:
    t0 = clock.now()
    await add(sessions, clock, account_id, *CODES)
    for code in CODES:
        carrier.answers[code] = TrackingResult(
            code, events(t0, (1, "PO-01", Status.POSTED), (3, "RO-01", Status.IN_TRANSIT))
        )
    clock.advance(timedelta(hours=6))


async def _events_by_code(sessions: Sessions) -> dict[str, int]:
    async with sessions() as session:
        rows = await session.execute(
            select(Shipment.tracking_code, func.count(TrackingEvent.id))
            .outerjoin(TrackingEvent, TrackingEvent.shipment_id == Shipment.id)
            .group_by(Shipment.tracking_code)
        )
        return {code: n for code, n in rows}


@POSTGRES
async def test_two_stores_at_once_each_store_its_whole_chunk(
    sessions: Sessions, clock: SimulatedClock, vault: Vault, carrier: FakeCarrier, account_id: int
) -> None:
    await _six_due(sessions, clock, carrier, account_id)
    poller = _watched(sessions, clock, vault, chunk=3, stores=2)
    report = await poller.run_once()

    assert poller.peak == 2
    first, second = poller.seen[0][1], poller.seen[1][1]
    assert [s for s, _ in poller.seen] == ["in", "in", "out", "out"]
    assert first.isdisjoint(second) and len(first | second) == 6
    assert (report.polled, report.changed, report.events) == (6, 6, 12)
    assert await _events_by_code(sessions) == dict.fromkeys(CODES, 2)


async def test_one_store_at_a_time_never_overlaps(
    sessions: Sessions, clock: SimulatedClock, vault: Vault, carrier: FakeCarrier, account_id: int
) -> None:
    await _six_due(sessions, clock, carrier, account_id)
    poller = _watched(sessions, clock, vault, chunk=3, stores=1)
    report = await poller.run_once()

    assert poller.peak == 1
    assert [s for s, _ in poller.seen] == ["in", "out", "in", "out"]
    assert (report.polled, report.changed, report.events) == (6, 6, 12)
    assert await _events_by_code(sessions) == dict.fromkeys(CODES, 2)


async def test_the_process_poller_stores_three_chunks_at_once_on_postgresql_only(engine: AsyncEngine) -> None:
    url = engine.url.render_as_string(hide_password=False)
    async with open_runtime(Settings(_env_file=None, database_url=url)) as rt:  # type: ignore[call-arg]
        assert poller_of(rt).stores == (3 if engine.dialect.name == "postgresql" else 1)


@POSTGRES
async def test_a_run_of_many_chunks_two_stored_at_once_stores_every_answer_once(
    sessions: Sessions, clock: SimulatedClock, vault: Vault, carrier: FakeCarrier, account_id: int
) -> None:
    t0 = clock.now()
    codes = [f"FK{i:02}" for i in range(20)]
    await add(sessions, clock, account_id, *codes)
    for n, code in enumerate(codes):
        if n % 5 == 4:
            carrier.answers[code] = TrackingResult(code, error=ResultError("SRO-020", "not found yet"))
        else:
            steps = [(1, "PO-01", Status.POSTED), (2, "RO-01", Status.IN_TRANSIT), (3, "RO-02", Status.IN_TRANSIT)]
            carrier.answers[code] = TrackingResult(code, events(t0, *steps[: 1 + n % 3]))
    clock.advance(timedelta(hours=6))
    poller = _watched(sessions, clock, vault, chunk=3, concurrency=4, stores=2)  # seven chunks
    report = await poller.run_once()
    assert poller.peak == 2 and len(poller.seen) == 14

    expected = {c: 0 if n % 5 == 4 else 1 + n % 3 for n, c in enumerate(codes)}
    assert await _events_by_code(sessions) == expected
    assert (report.polled, report.changed, report.events, report.failed) == (20, 20, sum(expected.values()), 0)
    async with sessions() as session:
        leased = await session.scalar(select(func.count()).where(Shipment.poll_leased_until.is_not(None)))
        polled = await session.scalar(select(func.count()).where(Shipment.last_polled_at == clock.now()))
        account = await session.get(CarrierAccount, account_id)
    assert (leased, polled) == (0, 20)
    assert account is not None and account.last_success_at == clock.now()

    clock.advance(timedelta(days=1))  # due again, nothing new: nothing written twice
    again = await poller.run_once()
    assert (again.polled, again.changed, again.events) == (20, 0, 0)
    assert await _events_by_code(sessions) == expected
