"""Overload and outages: a burst of requests and a database that goes away are answered 503 with
``Retry-After`` (never 500), on a real server over loopback, keeping the keep-alive connection; the outage
is logged once per interval, not once per request. Bounded: a hundred requests or so, then it stops."""

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
import uvicorn
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine
from structlog.testing import capture_logs

from tracker.apikeys import create_key
from tracker.clock import SimulatedClock
from tracker.config import Settings
from tracker.db import make_sessionmaker
from tracker.overload import unavailable
from zelo.app import create_app


class PgProxy:
    """A TCP proxy on loopback in front of PostgreSQL that can go down (dropping every connection and
    refusing new ones) and come back, as a database restart looks to the app."""

    def __init__(self, port: int) -> None:
        self.target = port
        self.port = 0
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()

    async def up(self) -> None:
        self._server = await asyncio.start_server(self._pipe, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def down(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._open):
            writer.transport.abort()
        await self._server.wait_closed()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self.target)
        self._open |= {writer, upstream_writer}

        async def copy(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.transport.abort()

        await asyncio.gather(copy(reader, upstream_writer), copy(upstream_reader, writer))
        self._open -= {writer, upstream_writer}


@asynccontextmanager
async def running(settings: Settings, clock: SimulatedClock) -> AsyncIterator[str]:
    """``zelo api``'s app under uvicorn on a free loopback port; its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(create_app(settings, clock), log_level="critical", lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:  # noqa: ASYNC110  (uvicorn says so by this flag only)
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task
        sock.close()


def _settings(url: str, **overrides: object) -> Settings:
    return Settings(_env_file=None, database_url=url, secret_key=SecretStr("test-secret"), **overrides)  # type: ignore[call-arg]


async def _reader_key(engine: AsyncEngine, clock: SimulatedClock) -> dict[str, str]:
    async with make_sessionmaker(engine)() as session, session.begin():
        key, _ = await create_key(session, name="burst", scopes=["read"], now=clock.now())
    return {"Authorization": f"Bearer {key}"}


async def test_a_burst_is_answered_503_with_retry_after_never_500(
    pg_engine: AsyncEngine, clock: SimulatedClock
) -> None:
    headers = await _reader_key(pg_engine, clock)
    url = pg_engine.url.render_as_string(hide_password=False)
    async with (
        running(_settings(url, max_in_flight=4, admission_wait_s=0.02), clock) as base,
        httpx.AsyncClient(base_url=base, limits=httpx.Limits(max_connections=100), timeout=30) as http,
    ):
        answers = await asyncio.gather(*(http.get("/v1/incidents", headers=headers) for _ in range(100)))
    statuses = {a.status_code for a in answers}
    busy = [a for a in answers if a.status_code == 503]
    assert statuses <= {200, 503} and 200 in statuses and busy
    assert all(a.headers["retry-after"] == "1" and a.json()["status"] == 503 for a in busy)
    assert busy[0].headers["content-type"] == "application/problem+json"


async def test_a_database_outage_is_503_keeps_the_connection_and_is_logged_once(
    pg_engine: AsyncEngine, clock: SimulatedClock
) -> None:
    headers = await _reader_key(pg_engine, clock)
    proxy = PgProxy(pg_engine.url.port or 5432)
    await proxy.up()
    url = pg_engine.url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    async with running(_settings(url), clock) as base, httpx.AsyncClient(base_url=base, timeout=30) as http:
        assert (await http.get("/v1/incidents", headers=headers)).status_code == 200
        await proxy.down()
        with capture_logs() as logs:
            during = [await http.get("/v1/incidents", headers=headers) for _ in range(20)]
        assert {a.status_code for a in during} == {503}
        assert {a.headers["retry-after"] for a in during} == {"5"}
        assert "database is unavailable" in during[0].json()["detail"]
        assert [e["event"] for e in logs if e["log_level"] == "error"] == ["database_unavailable"]
        # one keep-alive connection carried every answer: none was closed after a 503
        reader, writer = await asyncio.open_connection("127.0.0.1", int(base.rsplit(":", 1)[1]))
        request = f"GET /v1/incidents HTTP/1.1\r\nHost: zelo\r\nAuthorization: {headers['Authorization']}\r\n\r\n"
        for _ in range(2):
            writer.write(request.encode())
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(next(h for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")).split(b":")[1])
            await reader.readexactly(length)
            assert head.startswith(b"HTTP/1.1 503") and b"connection: close" not in head.lower()
        writer.close()
        await writer.wait_closed()
        await proxy.up()  # the database is back: answers are again what they were
        assert (await http.get("/v1/incidents", headers=headers)).status_code == 200
    await proxy.down()


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (ConnectionRefusedError(111, "refused"), True),
        (ValueError("a bug"), False),
        (RuntimeError("wrapped"), False),
    ],
)
def test_unavailable_tells_an_outage_from_a_bug(exc: BaseException, expected: bool) -> None:
    assert unavailable(exc) is expected


def test_unavailable_looks_through_what_an_error_wraps() -> None:
    outer = RuntimeError("the driver's own error")
    outer.__cause__ = ConnectionResetError(104, "reset by peer")
    assert unavailable(outer)
