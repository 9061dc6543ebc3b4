"""What every HTTP API shares: the runtime, the caller's API key and its scopes, id bounds, cursor paging
and problem details. Feature routers import this, never each other."""

import base64
import binascii
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from sqlalchemy import ColumnElement, Select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import InstrumentedAttribute

from tracker.apikeys import Principal, authenticate
from tracker.problems import FieldError, ProblemError, responses
from tracker.runtime import Runtime
from tracker.text import line_problem

__all__ = [
    "MAX_ID",
    "FieldError",
    "KeyCache",
    "Principal",
    "ProblemError",
    "decode_cursor",
    "encode_cursor",
    "fetch_page",
    "needs",
    "one_line_query",
    "responses",
    "runtime",
]

MAX_ID = 2**63 - 1  # ids are 64-bit integers in every database
KEY_CACHE_S = 30.0


def runtime(request: Request) -> Runtime:
    """The process's runtime (set by the app's lifespan)."""
    rt: Runtime = request.app.state.runtime
    return rt


@dataclass
class KeyCache:
    """API keys recently authenticated by this process."""

    sessions: async_sessionmaker[AsyncSession]
    _keys: dict[str, tuple[float, Principal | None]] = field(default_factory=dict)

    async def principal(self, authorization: str | None, scope: str) -> Principal:
        """The API key behind ``Authorization: Bearer <key>``, which must carry ``scope``."""
        scheme, _, key = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not key:
            raise ProblemError(401, "Authentication required", "send Authorization: Bearer <API key>")
        cached = self._keys.get(key)
        if cached is None or time.monotonic() - cached[0] > KEY_CACHE_S:
            async with self.sessions() as session:
                cached = self._keys[key] = (time.monotonic(), await authenticate(session, key.strip()))
        who = cached[1]
        if who is None:
            raise ProblemError(401, "Invalid API key", "the key is unknown or revoked")
        if not who.allows(scope):
            raise ProblemError(
                403, "Missing scope", f"this key has {', '.join(sorted(who.scopes))}; {scope!r} is needed"
            )
        return who


def needs(scope: str) -> Any:
    """A route dependency: the caller's API key, which must carry ``scope``."""

    async def check(request: Request, authorization: Annotated[str | None, Header()] = None) -> Principal:
        keys: KeyCache = request.app.state.keys
        return await keys.principal(authorization, scope)

    return Depends(check)


async def one_line_query(request: Request) -> None:
    """An app-wide dependency: every query parameter's value is one line of printable text (``tracker.text``:
    a NUL is a 500 on PostgreSQL), else the request is a 422 naming each parameter that is not."""
    if not request.scope["query_string"]:
        return
    errors = [
        FieldError(field=name, message=problem)
        for name, value in request.query_params.multi_items()
        if (problem := line_problem(value))
    ]
    if errors:
        raise ProblemError(422, "Invalid request", "a query parameter is not one line of text", errors)


def encode_cursor(last_id: int) -> str:
    """The opaque cursor of the list routes: the next page starts below ``last_id`` (newest first)."""
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode()


def decode_cursor(cursor: str) -> int:
    try:
        kind, _, value = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
        if kind == "id" and value.isdigit() and int(value) <= MAX_ID:
            return int(value)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise ProblemError(
        422,
        "Invalid cursor",
        f"cursor {cursor!r} was not issued by this API",
        [FieldError(field="cursor", message="pass the next_cursor of a previous page")],
    )


async def fetch_page(
    session: AsyncSession,
    query: Select[Any],
    *,
    key: ColumnElement[int] | InstrumentedAttribute[int],
    limit: int,
    cursor: str | None,
    scalars: bool = False,
    id_of: Callable[[Any], int] = lambda row: int(row.id),
) -> tuple[list[Any], str | None]:
    """One page of ``query`` (ordered newest first by ``key``), below ``cursor``: the rows and the next
    page's cursor (``None`` on the last page). Fetches one row more than ``limit`` to know."""
    if cursor:
        query = query.where(key < decode_cursor(cursor))
    query = query.limit(limit + 1)
    rows = list(await session.scalars(query)) if scalars else list((await session.execute(query)).all())
    more, rows = len(rows) > limit, rows[:limit]
    return rows, encode_cursor(id_of(rows[-1])) if more and rows else None
