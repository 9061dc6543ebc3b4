"""Scheduling, from one table of jobs (the composition root's ``zelo.features.SCHEDULE``), in either mode:

- **embedded** (no ``ZELO_REDIS_URL``): :func:`run_embedded` runs every job in this process, each every N seconds;
- **scaled**: :func:`worker_settings` gives arq's ``WorkerSettings``. Cron ticks only *queue* the jobs, under
  deterministic ids (``poll_due:period=1796300040:slot=0``), and any worker runs them. Every job finds its work
  in the database (due polls, outbox rows, claims to file), so a tick missed while every worker was down, a job
  lost with Redis, or a worker killed mid-job delays work and never loses it: the next period's runs find the
  same rows (a killed worker's leases lapse), and the sweeper (:func:`sweep_overdue`) queues one more run at
  once where work waits past its time. Runs of one job may overlap (each claims its own rows with ``SKIP
  LOCKED``); a worker runs at most ``worker_jobs`` at once.

Job functions live in the feature packages' ``tasks.py``; this module only runs them.
"""

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from tracker.config import Settings
from tracker.probes import JOB_SECONDS, JOBS, REGISTRY
from tracker.runtime import Job, Runtime, freeze_startup_heap, runtime_of

log = structlog.get_logger(__name__)
ZONE = ZoneInfo("America/Sao_Paulo")  # cron minutes are Brasília's, whatever the machine's zone
SWEEP_EVERY_S = 60
Overdue = Callable[[AsyncSession, datetime], Awaitable[int]]  # how many rows wait past their time


@dataclass(frozen=True)
class Scheduled:
    job: Job
    every: float  # seconds between runs: a divisor of a minute, an hour or a day
    timeout: float  # a run past this is cancelled (and its rows' leases hand them to the next run)
    slots: bool = False  # scaled mode queues ``worker_slots`` runs at once (each claims its own rows)
    overdue: Overdue | None = None  # the sweeper's check: rows this job should have taken by now

    @property
    def name(self) -> str:
        return self.job.__name__


Schedule = tuple[Scheduled, ...]


async def run_embedded(runtime: Runtime, schedule: Schedule, *, stop: asyncio.Event | None = None) -> None:
    """Run every scheduled job in this process until ``stop`` is set; a failing job is logged and retried."""
    stop = stop or asyncio.Event()
    ctx: dict[str, Any] = {"runtime": runtime}
    next_run = dict.fromkeys((entry.job for entry in schedule), 0.0)
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        for entry in schedule:
            if loop.time() >= next_run[entry.job]:
                try:
                    await counted(entry, ctx)
                except Exception:
                    log.exception("job_failed", job=entry.name)
                next_run[entry.job] = loop.time() + entry.every
        wake = min(next_run.values()) - loop.time()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=max(0.1, wake))


async def counted(entry: Scheduled, ctx: dict[str, Any]) -> None:
    """Run ``entry``'s job once, counted for /metrics (runs by outcome, seconds)."""
    started = time.perf_counter()
    try:
        await entry.job(ctx)
    except BaseException:
        JOBS.labels(entry.name, "failed").inc()
        raise
    finally:
        JOB_SECONDS.labels(entry.name).observe(time.perf_counter() - started)
    JOBS.labels(entry.name, "ok").inc()


def runs_of(entry: Scheduled, settings: Settings, now: datetime) -> list[dict[str, Any]]:
    """The runs one tick queues: their arguments (ids only). ``period`` names the tick's period, so the
    ticks of two workers in one period queue the same runs once, and a run still held by a killed worker
    never keeps the next period's runs out."""
    period = int(now.timestamp()) // int(entry.every) * int(entry.every)
    slots = range(settings.worker_slots) if entry.slots else range(1)
    return [{"slot": slot, "period": period} for slot in slots]


async def queue_runs(runtime: Runtime, entry: Scheduled, *, sweep: bool = False) -> None:
    """Queue ``entry``'s runs of this period; a run already queued under the same id is not queued again."""
    now = runtime.clock.now()
    if sweep:  # one more run, under an id of its own
        await runtime.enqueue(entry.name, sweep=int(now.timestamp()) // SWEEP_EVERY_S * SWEEP_EVERY_S)
        return
    for kwargs in runs_of(entry, runtime.settings, now):
        await runtime.enqueue(entry.name, **kwargs)


async def sweep_overdue(runtime: Runtime, schedule: Schedule) -> dict[str, int]:
    """Queue one more run of every job whose rows wait past their time (a due poll minutes late, a message
    left ``sending`` or a claim left ``filing`` past its lease): its runs may have been lost with Redis."""
    now = runtime.clock.now()
    found: dict[str, int] = {}
    for entry in schedule:
        if entry.overdue is None:
            continue
        async with runtime.sessions() as session:
            count = await entry.overdue(session, now)
        if count:
            found[entry.name] = count
            await queue_runs(runtime, entry, sweep=True)
    if found:
        log.warning("overdue_work_requeued", **found)
    return found


def cron_times(every: float) -> Any:  # arq's cron() keywords
    """arq's cron fields for "every N seconds", N dividing a minute, an hour or a day."""
    seconds = int(every)
    for unit, field, size in ((1, "second", 60), (60, "minute", 60), (3600, "hour", 24)):
        step, rest = divmod(seconds, unit)
        if rest == 0 and step and size % step == 0 and (step < size or unit == 3600):
            times: dict[str, set[int]] = {field: set(range(0, size, step))}
            for lower in ("second", "minute")[: ("second", "minute", "hour").index(field)]:
                times[lower] = {0}
            return times
    raise ValueError(f"every={every!r}: expected seconds that divide a minute, an hour or a day")


def worker_settings(
    schedule: Schedule,
    settings: Settings,
    open_runtime: Callable[[Settings], contextlib.AbstractAsyncContextManager[Runtime]],
) -> type:
    """arq's ``WorkerSettings`` for ``schedule``: every job under its own name, one cron tick per entry that
    queues its runs, and the sweeper every minute. ``open_runtime`` gives the worker's runtime (every feature
    wired), opened at start-up and closed at shut-down."""
    from arq import cron, func

    from tracker.queue import QUEUE, dumps, loads, redis_settings

    async def startup(ctx: dict[str, Any]) -> None:
        if settings.worker_metrics_port is not None:  # this worker's own counters (the gauges: the API's /metrics)
            from prometheus_client import start_http_server

            start_http_server(settings.worker_metrics_port, settings.worker_metrics_host, registry=REGISTRY)
        ctx["_runtime_cm"] = opened = open_runtime(settings)
        ctx["runtime"] = await opened.__aenter__()
        freeze_startup_heap(batches=True)

    async def shutdown(ctx: dict[str, Any]) -> None:
        if (opened := ctx.pop("_runtime_cm", None)) is not None:
            await opened.__aexit__(None, None, None)

    def run(entry: Scheduled) -> Any:  # an arq WorkerCoroutine
        async def run_job(ctx: dict[str, Any], **_ids: Any) -> None:
            await counted(entry, ctx)

        return run_job

    def tick(entry: Scheduled) -> Any:
        async def queue(ctx: dict[str, Any]) -> None:
            await queue_runs(runtime_of(ctx), entry)

        return queue

    async def sweep(ctx: dict[str, Any]) -> None:
        await sweep_overdue(runtime_of(ctx), schedule)

    functions = [func(run(e), name=e.name, timeout=e.timeout, keep_result=0, max_tries=3) for e in schedule]
    crons = [
        cron(tick(e), name=f"tick:{e.name}", run_at_startup=True, keep_result=0, timeout=30, **cron_times(e.every))
        for e in schedule
    ]
    crons.append(cron(sweep, name="tick:sweep_overdue", second={30}, keep_result=0, timeout=60))
    fields: dict[str, Any] = {
        "functions": functions,
        "cron_jobs": crons,
        "queue_name": QUEUE,
        "redis_settings": redis_settings(settings.redis_url or ""),
        "job_serializer": dumps,
        "job_deserializer": loads,
        "on_startup": startup,
        "on_shutdown": shutdown,
        "health_check_interval": 30,  # a dead worker shows in `zelo worker --check` within a minute
        "max_jobs": settings.worker_jobs,
        "keep_result": 0,  # no result kept: an id can be queued again as soon as its run ends
        "timezone": ZONE,
        "job_completion_wait": 20,  # on SIGTERM, let running jobs finish before the rest are cancelled
    }
    return type("WorkerSettings", (), fields)
