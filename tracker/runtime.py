"""The long-lived objects of a process, created once and passed down (never module globals)."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from notifier.outbox import Outbox
from tracker.clock import Clock, SystemClock
from tracker.config import Settings
from tracker.db import make_engine, make_sessionmaker
from tracker.detector.service import Detector
from tracker.polling import Poller
from tracker.vault import Vault


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    http: httpx.AsyncClient
    vault: Vault
    clock: Clock

    detector: Detector = field(default_factory=Detector)
    _poller: Poller | None = None

    def poller(self) -> Poller:
        """The process's poller, kept so its carrier clients (and their tokens) outlive one cycle."""
        if self._poller is not None:
            return self._poller
        s = self.settings
        self._poller = Poller(
            self.sessions,
            self.http,
            self.clock,
            self.vault,
            chunk=s.poll_chunk,
            concurrency=s.poll_concurrency,
            lease=timedelta(seconds=s.poll_lease_s),
            detector=self.detector,
        )
        return self._poller


@asynccontextmanager
async def open_runtime(settings: Settings, clock: Clock | None = None) -> AsyncIterator[Runtime]:
    engine = make_engine(settings.database_url)
    limits = httpx.Limits(
        max_connections=settings.poll_concurrency * 2, max_keepalive_connections=settings.poll_concurrency
    )
    try:
        async with httpx.AsyncClient(timeout=settings.http_timeout_s, limits=limits) as http:
            yield Runtime(
                detector=Detector(listeners=[Outbox(settings)]),  # incidents and moves queue notifications
                settings=settings,
                engine=engine,
                sessions=make_sessionmaker(engine),
                http=http,
                vault=Vault(settings.secret_key.get_secret_value()),
                clock=clock or SystemClock(),
            )
    finally:
        await engine.dispose()
