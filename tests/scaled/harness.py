"""Scaled mode under faults: `zelo worker` processes on a real PostgreSQL and Redis, the sandbox carrier in
this process (a uvicorn thread), and what each side counted afterwards.

Workers are real subprocesses (killed with SIGKILL, started again), on Redis database 12, flushed around each
test. Their ticks queue runs under the period's ids, so a run held by a killed worker keeps the rest of that
period's runs of the same slot out: a test that cannot wait for the next minute queues one more run under an
id of its own, as the sweeper does (:func:`one_more_run`).
"""

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import uvicorn
from arq import ArqRedis
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from carriers.correios.s10 import make_code
from carriers.sandbox import Parcel, SandboxState, create_app
from tests.conftest import PG_DATABASE, PG_SERVER
from tests.support import running
from tracker.db import make_sessionmaker
from tracker.models import Shipment, TrackingEvent
from tracker.polling.accounts import add_account
from tracker.runtime import job_id
from tracker.shipments.service import NewShipment, register
from tracker.vault import Vault

REDIS = "redis://127.0.0.1:6379/12"  # a database of its own, flushed around each test
SECRET = "scaled-fault-tests-secret-0123456789"
POLL_LEASE_S = 10  # ZELO_POLL_LEASE_S of the workers: a claimed shipment is polled again after this
ZELO = Path(sys.executable).with_name("zelo")  # the `zelo` command of this installation


@contextmanager
def sandbox(state: SandboxState) -> Iterator[str]:
    """The sandbox serving ``state`` on loopback; its base URL."""
    with running(uvicorn.Config(create_app(state), port=0, log_level="critical", lifespan="off")) as port:
        yield f"http://127.0.0.1:{port}"


def worker_env(redis_url: str = REDIS, **settings: Any) -> dict[str, str]:
    """The environment of a worker process: this test database, ``redis_url``, short poll leases."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZELO_") or k == "ZELO_TEST_PG"}
    env |= {
        "ZELO_ENV": "test",
        "ZELO_SECRET_KEY": SECRET,
        "ZELO_DATABASE_URL": f"{PG_SERVER}/{PG_DATABASE}",
        "ZELO_REDIS_URL": redis_url,
        "ZELO_POLL_LEASE_S": str(POLL_LEASE_S),
        "ZELO_REPLY_TO": "Loja <sac@loja.example>",  # where the carrier answers claims
        "ZELO_LOG_LEVEL": "info",
    }
    env |= {f"ZELO_{key.upper()}": str(value) for key, value in settings.items()}
    return env


@dataclass
class Workers:
    """`zelo worker` processes, each logging to its own file under ``folder``."""

    folder: Path
    env: dict[str, str]
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self, **settings: Any) -> subprocess.Popen[bytes]:
        n = len(self.processes)
        with (self.folder / f"worker-{n}.log").open("wb") as log:
            process = subprocess.Popen(
                [str(ZELO), "worker"], env=self.env | worker_env_changes(settings), stdout=log, stderr=log
            )
        self.processes.append(process)
        return process

    def kill(self, process: subprocess.Popen[bytes]) -> None:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.folder.glob("worker-*.log")))

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
                process.wait(timeout=10)


def worker_env_changes(settings: dict[str, Any]) -> dict[str, str]:
    return {f"ZELO_{key.upper()}": str(value) for key, value in settings.items()}


Check = Callable[[], Awaitable[bool] | bool]


async def until(check: Check, within: float, what: str, logs: Callable[[], str]) -> None:
    """Wait until ``check()`` holds (asked every 0.1 s); fails saying ``what`` with the workers' logs."""
    deadline = time.monotonic() + within
    while True:
        found = check()
        if not isinstance(found, bool):
            found = await found
        if found:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; worker logs:\n{logs()[-6000:]}")
        await asyncio.sleep(0.1)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def listening(port: int) -> bool:
    """Whether something answers on ``port`` (a worker's /metrics: it started)."""
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


async def one_more_run(pool: ArqRedis, name: str) -> None:
    """Queue one more run of ``name`` under an id of its own, as the sweeper does."""
    key = time.time_ns()
    await pool.enqueue_job(name, _job_id=job_id(name, sweep=key), sweep=key)


async def shipments_on_sandbox(
    pg: AsyncEngine,
    state: SandboxState,
    base_url: str,
    count: int,
    *,
    rate: float | None = None,
    prefix: str = "FT",
    account: str = "sandbox",
) -> int:
    """``count`` on-time parcels posted two days ago, at the sandbox and registered (due now) on one Correios
    account (``rate``: its requests per second); the account's id."""
    now = datetime.now(UTC)
    parcels = [Parcel(make_code(prefix, i), "on_time", now - timedelta(days=2)) for i in range(count)]
    state.register(parcels)
    credentials = {"user": "u", "access_code": "c", "posting_card": "1"}
    async with make_sessionmaker(pg)() as session, session.begin():
        account = await add_account(
            session, Vault(SECRET), carrier="correios", name=account, base_url=base_url, now=now,
            credentials=credentials, requests_per_second=rate,
        )  # fmt: skip
        await register(session, [NewShipment("correios", account.id, p.code) for p in parcels], now)
    return account.id


def expected_events(state: SandboxState) -> int:
    """The events the sandbox shows now for every parcel it holds."""
    return sum(len(obj.get("eventos", [])) for obj in state.render(list(state.parcels)))


@dataclass(frozen=True)
class Stored:
    polled: int  # shipments polled at least once
    events: int
    distinct_events: int  # by (shipment, time, code): a second copy of an event would show here
    unpolled: int  # shipments never polled: a claim left behind by a dead run, never taken again


async def stored(pg: AsyncEngine) -> Stored:
    e = TrackingEvent
    async with make_sessionmaker(pg)() as session:
        polled = await session.scalar(select(func.count()).where(Shipment.last_polled_at.is_not(None)))
        events = await session.scalar(select(func.count()).select_from(e))
        distinct = await session.scalar(
            select(func.count()).select_from(select(e.shipment_id, e.occurred_at, e.code).distinct().subquery())
        )
        unpolled = await session.scalar(select(func.count()).where(Shipment.last_polled_at.is_(None)))
    return Stored(polled or 0, events or 0, distinct or 0, unpolled or 0)
