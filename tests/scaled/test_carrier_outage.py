"""A carrier outage of a simulated day, in scaled mode's pieces (PostgreSQL, the account's rate shared in Redis,
the detector in the poll pipeline and its sweep), played in this process on a simulated clock rather than with
worker processes, which would need a real day: polls back off, the account's circuit opens and probes, closes
once the carrier answers, no incident is raised for the carrier's silence, and the backlog drains."""

from datetime import UTC, datetime, timedelta
from typing import Any

from arq import ArqRedis
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from carriers.base.retry import DEFAULT_RETRY
from carriers.correios.s10 import make_code
from carriers.sandbox import Parcel, SandboxState
from tests.conftest import PG_DATABASE, PG_SERVER
from tests.scaled.harness import REDIS, SECRET, expected_events, sandbox, stored
from tests.support import RecordingSleep, correios_account
from tracker.clock import SimulatedClock
from tracker.config import Settings
from tracker.db import make_sessionmaker
from tracker.detector import incidents_table
from tracker.models import CarrierAccount, Shipment
from tracker.polling import poller_of
from tracker.shipments.service import NewShipment, register
from tracker.vault import Vault
from zelo import features

START = datetime(2026, 11, 2, 11, 0, tzinfo=UTC)  # a Monday, 08:00 in Brasília
OUTAGE = (START + timedelta(hours=2), START + timedelta(hours=26))
STEP = timedelta(minutes=20)  # a poll run every step; the detector's sweep too
PARCELS = 120
# The probe that finds the carrier back closes the circuit, and the shipments whose polls failed in the outage
# (each backed off for up to 6 h by then) are due at once: the backlog drains in the next runs.
DRAIN = timedelta(hours=1)


async def test_a_day_long_outage_backs_off_opens_the_circuit_raises_nothing_and_drains(
    redis: ArqRedis, pg: AsyncEngine
) -> None:
    clock = SimulatedClock(START)
    state = SandboxState(clock=clock)
    state.faults.outages.append(OUTAGE)
    settings = Settings(
        env="test", secret_key=SECRET, database_url=f"{PG_SERVER}/{PG_DATABASE}", redis_url=REDIS, poll_chunk=50
    )
    codes = [make_code("OU", i) for i in range(PARCELS)]
    state.register(Parcel(code, "on_time", START - timedelta(days=1)) for code in codes)
    circuit: list[tuple[datetime, bool]] = []  # (when, open) after each run
    requests: list[tuple[datetime, int]] = []  # (when, track requests so far)
    with sandbox(state) as url:
        async with make_sessionmaker(pg)() as session, session.begin():
            account = await correios_account(session, Vault(SECRET), name="sandbox", base_url=url, now=START)
            await register(session, [NewShipment("correios", account, c) for c in codes], START)
        async with features.open_runtime(settings, clock) as runtime:
            poller_of(runtime).sleep = RecordingSleep()  # back-off and pacing waits pass on the simulated clock
            ctx: dict[str, Any] = {"runtime": runtime}
            while clock.now() < OUTAGE[1] + DRAIN:
                await runtime.jobs["poll_due"](ctx)
                await runtime.jobs["detect_sweep"](ctx)
                async with runtime.sessions() as session:
                    found = await session.get(CarrierAccount, account)
                    assert found is not None
                    circuit.append((clock.now(), found.circuit_open(clock.now())))
                requests.append((clock.now(), state.counters.requests["track"]))
                clock.advance(STEP)
    during = [is_open for when, is_open in circuit if OUTAGE[0] <= when < OUTAGE[1]]
    assert any(during) and not all(during)  # open, and half-open between cool-downs: probes
    assert not circuit[-1][1]  # closed once the carrier answers again
    in_outage = max(n for when, n in requests if when < OUTAGE[1]) - max(n for when, n in requests if when < OUTAGE[0])
    # without back-off: every run, each chunk of 50 a call, each call its 4 attempts (864 requests)
    unchecked = (OUTAGE[1] - OUTAGE[0]) / STEP * -(-PARCELS // 50) * DEFAULT_RETRY.attempts
    assert in_outage <= unchecked / 4  # backed off (measured: 104 requests, 26 calls)
    async with make_sessionmaker(pg)() as session:
        incidents = await session.scalar(select(func.count()).select_from(incidents_table))
        end = clock.now()
        waiting = await session.scalar(select(func.count()).where(Shipment.next_poll_at < end - STEP))
        failing = await session.scalar(select(func.count()).where(Shipment.poll_error_count > 0))
    assert incidents == 0  # the carrier's silence is not the parcels'
    assert waiting == 0 and failing == 0  # the backlog drained: nothing overdue, no poll still failing
    found = await stored(pg)
    assert found.events == found.distinct_events == expected_events(state)
