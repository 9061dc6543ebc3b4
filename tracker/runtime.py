"""The long-lived objects of a process, created once and passed down (never module globals).

A neutral container: it knows no feature. Features keep their per-process objects (the poller with its
carrier tokens, the dispatcher with its SMTP connection) in it through :meth:`Runtime.service`; the
composition root (``zelo``) registers the detector's listeners and the jobs when it opens one.
"""

import gc
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from tracker.clock import Clock, SystemClock
from tracker.config import Settings
from tracker.db import make_engine, make_sessionmaker
from tracker.signals import AlertSink, Listener
from tracker.vault import Vault

T = TypeVar("T")
Job = Callable[[dict[str, Any]], Awaitable[Any]]  # a job function: ``async def job(ctx)``


class Enqueue(Protocol):
    """Hand a job to the queue, after the caller's commit (DESIGN §1 rule 3)."""

    async def __call__(self, runtime: "Runtime", name: str, /, **kwargs: Any) -> None: ...


async def run_in_process(runtime: "Runtime", name: str, /, **kwargs: Any) -> None:
    """Embedded mode has no queue: the job runs now, in this process."""
    await runtime.jobs[name]({"runtime": runtime}, **kwargs)


def job_id(name: str, **kwargs: Any) -> str:
    """A job's id, made of its name and arguments (ids only): the same work queued twice is queued once."""
    return ":".join([name, *(f"{key}={kwargs[key]}" for key in sorted(kwargs))])


@dataclass
class ToQueue:
    """Scaled mode: the job goes to arq on Redis, under its deterministic id, for any worker to run."""

    pool: Any  # an arq.ArqRedis

    async def __call__(self, runtime: "Runtime", name: str, /, **kwargs: Any) -> None:
        await self.pool.enqueue_job(name, _job_id=job_id(name, **kwargs), **kwargs)

    async def aclose(self) -> None:
        await self.pool.aclose()


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    http: httpx.AsyncClient
    vault: Vault
    clock: Clock
    listeners: list[Listener] = field(default_factory=list)  # told of incidents raised and status moves
    alert: AlertSink | None = None  # where features tell ops (the composition root plugs the notifier in)
    jobs: dict[str, Job] = field(default_factory=dict)  # every job function, by name
    enqueue_with: Enqueue = run_in_process
    redis: Any = None  # scaled mode: the Redis client (arq's pool) for the queue and the shared rate limits
    _services: dict[Callable[..., Any], Any] = field(default_factory=dict, init=False)

    def service(self, make: Callable[["Runtime"], T]) -> T:
        """The process's one object made by ``make`` (made on first use, closed with the runtime)."""
        if make not in self._services:
            self._services[make] = make(self)
        made: T = self._services[make]
        return made

    async def enqueue(self, name: str, /, **kwargs: Any) -> None:
        await self.enqueue_with(self, name, **kwargs)

    async def aclose(self) -> None:
        for made in reversed(list(self._services.values())):
            close = getattr(made, "aclose", None)
            if close is not None:
                await close()
        self._services.clear()


def runtime_of(ctx: dict[str, Any]) -> Runtime:
    """The runtime a job function is called with (``ctx["runtime"]``, embedded loop or queue worker)."""
    runtime = ctx["runtime"]
    assert isinstance(runtime, Runtime)
    return runtime


@asynccontextmanager
async def open_runtime(
    settings: Settings, clock: Clock | None = None, *, setup: Callable[[Runtime], None] | None = None
) -> AsyncIterator[Runtime]:
    """A runtime for this process; ``setup`` (the composition root's) registers listeners and jobs."""
    engine = make_engine(settings.database_url)
    limits = httpx.Limits(
        max_connections=settings.poll_concurrency * 2, max_keepalive_connections=settings.poll_concurrency
    )
    try:
        async with httpx.AsyncClient(timeout=settings.http_timeout_s, limits=limits) as http:
            runtime = Runtime(
                settings=settings,
                engine=engine,
                sessions=make_sessionmaker(engine),
                http=http,
                vault=Vault(settings.secret_key.get_secret_value()),
                clock=clock or SystemClock(),
            )
            if settings.redis_url:
                from tracker.queue import open_pool

                queue = ToQueue(await open_pool(settings.redis_url))
                runtime.enqueue_with = runtime.service(lambda _: queue)  # closed with the runtime
                runtime.redis = queue.pool
            if setup is not None:
                setup(runtime)
            try:
                yield runtime
            finally:
                await runtime.aclose()
    finally:
        await engine.dispose()


_frozen = False
BATCH_YOUNG_GC = 10_000  # allocations between young collections in a batch process (CPython's default: 700)


def freeze_startup_heap(*, batches: bool = False) -> None:
    """Move the objects alive after startup (modules, classes, the app, the runtime) out of the cyclic garbage
    collector's reach, once per process. A batch of shipments (a webhook's, a poll chunk's) allocates so many
    containers that collections run several times per batch, and each full one walked the whole startup heap, a
    large share of a batch's time. Garbage allocated later is still collected. ``batches``: the process works in
    large batches whose objects live for the whole batch (a poll chunk's answers), so young collections run
    ``BATCH_YOUNG_GC`` allocations apart: full collections, each walking the chunks in flight, run that much
    less often (at 700 they took about 10% of a poll's CPU).
    The API calls it once its runtime is open, the poll processes (``zelo poll``, each ``zelo worker``) with
    ``batches``."""
    global _frozen
    if not _frozen:
        _frozen = True
        gc.collect()
        gc.freeze()
        if batches:
            gc.set_threshold(BATCH_YOUNG_GC, *gc.get_threshold()[1:])
