"""The long-lived objects of a process, created once and passed down (never module globals)."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from notifier.dispatcher import Dispatcher
from notifier.outbox import Outbox
from notifier.service import open_channels
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
    eml_folder: Path | None = None  # e-mail written as .eml files there instead of sent (the demo)
    _poller: Poller | None = None
    _dispatcher: Dispatcher | None = None

    @property
    def outbox(self) -> Outbox:
        """The detector's outbox listener (it queues the notifications)."""
        return next(x for x in self.detector.listeners if isinstance(x, Outbox))

    def dispatcher(self) -> Dispatcher:
        """The process's dispatcher, kept so its SMTP connection outlives one run."""
        if self._dispatcher is None:
            from notifier.compose import make_compose, make_digest, make_optout_hashes

            ports = open_channels(self.settings, self.http, eml_folder=self.eml_folder)
            compose, hashes = make_compose(self.settings), make_optout_hashes(self.settings)
            self._dispatcher = Dispatcher(
                self.sessions, self.clock, ports, compose, hashes, digest=make_digest(self.settings)
            )
        return self._dispatcher

    async def aclose(self) -> None:
        if self._dispatcher is not None:
            for port in set(self._dispatcher.channels.values()):
                await port.aclose()

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
            runtime = Runtime(
                detector=Detector(listeners=[Outbox(settings)]),  # incidents and moves queue notifications
                settings=settings,
                engine=engine,
                sessions=make_sessionmaker(engine),
                http=http,
                vault=Vault(settings.secret_key.get_secret_value()),
                clock=clock or SystemClock(),
            )
            try:
                yield runtime
            finally:
                await runtime.aclose()
    finally:
        await engine.dispose()
