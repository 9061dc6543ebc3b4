"""Overload and outages answer ``503`` with ``Retry-After``, never ``500``, and keep the connection.

Two causes, one answer:
- too many requests at once: :class:`Admission` lets ``limit`` requests into the app per process; one more
  waits up to ``wait_s`` for a place, then is told to come back (a burst never piles up on the database
  pool until its checkout times out);
- the database is away or saturated (a restart, refused or dropped connections, the pool's checkout
  timing out): the exception handlers answer 503, so the problem document is the whole answer (a handler
  for ``Exception`` would make the server log a second traceback and close the keep-alive connection).
  The outage is logged once per ``LOG_EVERY_S``, with how many requests it turned away meanwhile.
"""

import asyncio
import json
import time

import asyncpg  # type: ignore[import-untyped]
import structlog
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa
from starlette.types import ASGIApp, Receive, Scope, Send

from tracker.problems import MEDIA_TYPE, Problem, problem_response

log = structlog.get_logger(__name__)
RETRY_AFTER_S = 1  # busy: come back in a second
OUTAGE_RETRY_AFTER_S = 5  # the database is away: a restart takes seconds
LOG_EVERY_S = 10.0
# what a database that is restarting, refusing or saturated raises (SQLAlchemy wraps some, not all)
UNAVAILABLE: tuple[type[BaseException], ...] = (
    OSError,  # connection refused or reset, at connect time (asyncpg raises it unwrapped)
    sa.TimeoutError,  # the pool's checkout timed out
    sa.OperationalError,
    sa.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,  # shutting down, cannot connect now
    asyncpg.exceptions.InsufficientResourcesError,  # too many connections
    asyncpg.InterfaceError,
)


def busy_response(status: int = 503) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    body = Problem(title="Busy", status=status, detail=f"too many requests at once; retry in {RETRY_AFTER_S} s")
    headers = [(b"content-type", MEDIA_TYPE.encode()), (b"retry-after", str(RETRY_AFTER_S).encode())]
    return json.dumps(body.model_dump(mode="json")).encode(), headers


class Admission:
    """At most ``limit`` requests in the app at once; one more waits ``wait_s`` for a place, then gets 503."""

    def __init__(self, app: ASGIApp, *, limit: int, wait_s: float) -> None:
        self.app = app
        self.wait_s = wait_s
        self._places = asyncio.Semaphore(limit)
        self._body, self._headers = busy_response()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            if self._places.locked():  # full: wait for a place (else take one at once, without a task)
                await asyncio.wait_for(self._places.acquire(), self.wait_s)
            else:
                await self._places.acquire()
        except TimeoutError:
            headers = [*self._headers, (b"content-length", str(len(self._body)).encode())]
            await send({"type": "http.response.start", "status": 503, "headers": headers})
            await send({"type": "http.response.body", "body": self._body})
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self._places.release()


class _OutageLog:
    """One log line per interval while the database is away, however many requests it turns away."""

    def __init__(self) -> None:
        self._last = -LOG_EVERY_S
        self._since_last = 0

    def note(self, exc: BaseException) -> None:
        self._since_last += 1
        now = time.monotonic()
        if now - self._last >= LOG_EVERY_S:
            log.error("database_unavailable", error=f"{type(exc).__name__}: {exc}", turned_away=self._since_last)
            self._last, self._since_last = now, 0


def unavailable(exc: BaseException | None, depth: int = 0) -> bool:
    """Whether ``exc`` (or what it wraps) says the database is away or saturated, not a bug or bad input."""
    if exc is None or depth > 3:
        return False
    if isinstance(exc, UNAVAILABLE) or (isinstance(exc, sa.DBAPIError) and exc.connection_invalidated):
        return True
    return unavailable(getattr(exc, "orig", None) or exc.__cause__, depth + 1)


def install(app: FastAPI) -> None:
    """Map the database's absence to 503 (handlers by exception class, so the connection stays open)."""
    outages = _OutageLog()

    async def _unavailable(_: Request, exc: Exception) -> JSONResponse:
        if not unavailable(exc):
            log.exception("request_failed", error_type=type(exc).__name__)
            return problem_response(Problem(title="Internal error", status=500, detail="the error was logged"))
        outages.note(exc)
        detail = f"the database is unavailable; retry in {OUTAGE_RETRY_AFTER_S} s"
        problem = Problem(title="Service unavailable", status=503, detail=detail)
        return problem_response(problem, {"Retry-After": str(OUTAGE_RETRY_AFTER_S)})

    for kind in (*UNAVAILABLE, sa.DBAPIError):
        app.add_exception_handler(kind, _unavailable)
