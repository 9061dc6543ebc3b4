"""What every HTTP API shares: the route class (the caller authenticates first, unknown query parameters
refused, JSON bodies bounded), the runtime, the caller's API key and its scopes, id bounds, cursor paging and
problem details. Feature routers import this, never each other."""

import base64
import binascii
import contextlib
import json
from collections import OrderedDict
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, ClassVar, cast

import pydantic_core
from fastapi import Depends, Header, Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from sqlalchemy import ColumnElement, Select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import InstrumentedAttribute
from starlette.datastructures import QueryParams
from starlette.requests import ClientDisconnect

from tracker.apikeys import KEY_FORMAT, Principal, authenticate, key_parts
from tracker.clock import Clock
from tracker.mask import scrub
from tracker.openapi import API_KEY
from tracker.problems import FieldError, ProblemError, responses
from tracker.runtime import Runtime
from tracker.text import line_problem

__all__ = [
    "MAX_ID",
    "MAX_JSON_DEPTH",
    "DirectRoute",
    "FieldError",
    "KeyCache",
    "Principal",
    "ProblemError",
    "Route",
    "decode_cursor",
    "encode_cursor",
    "fetch_page",
    "needs",
    "read_body",
    "read_json",
    "responses",
    "runtime",
    "unsupported_encoding",
]

MAX_ID = 2**63 - 1  # ids are 64-bit integers in every database
MAX_JSON_DEPTH = 200  # pydantic-core's parser bound; it reads every JSON body (the webhook's one-pass validation too)
KEY_CACHE_S = 5.0  # a revoked key stops working within this (README: HTTP API)
KEY_CACHE_SIZE = 10_000  # answers about keys kept per process
Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def runtime(request: Request) -> Runtime:
    """The process's runtime (set by the app's lifespan)."""
    rt: Runtime = request.app.state.runtime
    return rt


@dataclass
class KeyCache:
    """This process's recent answers about API keys: at most ``size`` of them (the least recently used go
    first), each trusted for ``ttl`` seconds of the runtime's clock, so a revoked key stops working within
    ``ttl``. A value not shaped like a key is refused before any lookup: it reaches neither the cache nor the
    database."""

    sessions: async_sessionmaker[AsyncSession]
    clock: Clock
    size: int = KEY_CACHE_SIZE
    ttl: float = KEY_CACHE_S
    _answers: OrderedDict[str, tuple[datetime, Principal | None]] = field(default_factory=OrderedDict)

    def __len__(self) -> int:
        return len(self._answers)

    async def principal(self, authorization: str | None, scope: str) -> Principal:
        """The API key behind ``Authorization: Bearer <key>``, which must carry ``scope``."""
        scheme, _, key = (authorization or "").partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not key:
            raise _unauthorized("Authentication required", "send Authorization: Bearer <API key>")
        if key_parts(key) is None:
            raise _unauthorized("Invalid API key", f"got {len(key)} characters; expected {KEY_FORMAT}")
        who = await self._lookup(key)
        if who is None:
            raise _unauthorized("Invalid API key", "the key is unknown or revoked")
        if not who.allows(scope):
            raise ProblemError(
                403, "Missing scope", f"this key has {', '.join(sorted(who.scopes))}; {scope!r} is needed"
            )
        return who

    async def _lookup(self, key: str) -> Principal | None:
        now = self.clock.now()
        cached = self._answers.get(key)
        if cached is None or not 0 <= (now - cached[0]).total_seconds() < self.ttl:
            async with self.sessions() as session:
                cached = self._answers[key] = (now, await authenticate(session, key))
        self._answers.move_to_end(key)
        while len(self._answers) > self.size:
            self._answers.popitem(last=False)
        return cached[1]


def _unauthorized(title: str, message: str) -> ProblemError:
    return ProblemError(401, title, message, [FieldError(field="Authorization", message=message)])


@dataclass(frozen=True)
class _Needs:
    """The dependency of ``needs(scope)``: a class, so that :class:`Route` finds the scope a route needs."""

    scope: str

    async def __call__(
        self, request: Request, authorization: Annotated[str | None, Header(include_in_schema=False)] = None
    ) -> Principal:  # the document has the API key as a security scheme (tracker.openapi), not as a parameter
        keys: KeyCache = request.app.state.keys
        return await keys.principal(authorization, self.scope)


def needs(scope: str) -> Any:
    """A route dependency: the caller's API key, which must carry ``scope``."""
    return Depends(_Needs(scope))


async def read_body(request: Request, limit: int) -> bytes:
    """The request's body, read once and at most ``limit`` bytes: one declared or received larger is a 413
    (never held whole). ``Request.body()`` returns it from then on."""
    if hasattr(request, "_body"):  # read already
        return request._body
    encoding = request.headers.get("content-encoding")
    if encoding is not None and encoding.strip().lower() != "identity":
        raise unsupported_encoding(encoding)
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise ProblemError(413, "Body too large", f"{declared} bytes; at most {limit} bytes")
    chunks, size = [], 0
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise ProblemError(413, "Body too large", f"more than {limit} bytes; at most {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    request._body = body  # what Starlette's Request.body() keeps: FastAPI reads the body again from there
    return body


def unsupported_encoding(encoding: str) -> ProblemError:
    """A body sent compressed is refused, not decoded: a signature and the size bound are over the bytes as sent."""
    message = (
        f"Content-Encoding {scrub(encoding)[:50]!r} is not accepted; expected an uncompressed body (no "
        "Content-Encoding, or identity): signatures and size limits apply to the bytes as sent"
    )
    error = FieldError(field="Content-Encoding", message=message)
    return ProblemError(415, "Compressed body not accepted", message, [error], headers={"Accept-Encoding": "identity"})


def read_json(body: bytes, *, exact: bool = False) -> Any:
    """A JSON request body, nested at most ``MAX_JSON_DEPTH`` levels: anything else is a 400 naming the body.
    ``exact``: numbers with a fraction or an exponent are read as exact decimals (money is never rounded), and
    text the JSON grammar allows but Unicode does not (a lone surrogate) is left for a field's check to refuse."""
    try:
        parsed = pydantic_core.from_json(body)
    except ValueError as exc:
        deep = "recursion limit exceeded" in str(exc)
        if exact and not deep:
            with contextlib.suppress(ValueError):
                return json.loads(body, parse_float=Decimal)
        title = "JSON nested too deeply" if deep else "Body is not JSON"
        message = (
            f"nested deeper than allowed; expected at most {MAX_JSON_DEPTH} levels of arrays and objects"
            if deep
            else f"{exc}; expected a JSON document in UTF-8"
        )
        raise ProblemError(400, title, message, [FieldError(field="(body)", message=message)]) from None
    return json.loads(body, parse_float=Decimal) if exact else parsed


def _refuse_unknown(query: QueryParams, declared: frozenset[str]) -> None:
    unknown = [name for name in dict.fromkeys(query.keys()) if name not in declared]
    if not unknown:
        return
    expected = f"expected one of: {', '.join(sorted(declared))}" if declared else "this route takes no query parameters"
    errors = [
        FieldError(field=scrub(n)[:50], message=f"unknown query parameter (got {scrub(query[n])[:50]!r}); {expected}")
        for n in unknown
    ]
    detail = f"not a query parameter of this route: {', '.join(e.field for e in errors)}"
    raise ProblemError(422, "Unknown query parameter", detail, errors)


def _refuse_control(query: QueryParams) -> None:
    """Every query parameter's value is one line of printable text (``tracker.text``: a NUL is a 500 on
    PostgreSQL), else the request is a 422 naming each parameter that is not."""
    errors = [
        FieldError(field=name, message=problem)
        for name, value in query.multi_items()
        if (problem := line_problem(value))
    ]
    if errors:
        raise ProblemError(422, "Invalid request", "a query parameter is not one line of text", errors)


def _dependants(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for sub in dependant.dependencies:
        yield from _dependants(sub)


class Route(APIRoute):
    """Every API route. The caller's API key is checked first (a caller without one hears 401 before its query or
    body is read); a query parameter the route does not declare is a 422 naming it (a misspelled filter must not
    return everything), and so is one whose value is not one line of printable text; a JSON body is read within
    :func:`read_json`'s bound. With ``direct``, the endpoint takes the ``Request`` and returns the ``Response``
    itself, and FastAPI's request handler (dependency solving, parameter parsing, serialization) is skipped; the
    OpenAPI document still comes from the declarations."""

    direct: ClassVar[bool] = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        scopes = sorted({d.call.scope for d in _dependants(self.dependant) if isinstance(d.call, _Needs)})
        if scopes:  # the API key's security requirement, with the scopes it must carry (OpenAPI 3.1 role names)
            self.openapi_extra = {"security": [{API_KEY: scopes}], **(self.openapi_extra or {})}

    def get_route_handler(self) -> Handler:
        inner = cast(Handler, self.endpoint) if self.direct else super().get_route_handler()
        dependants = list(_dependants(self.dependant))
        checks = [d.call for d in dependants if isinstance(d.call, _Needs)]
        declared = frozenset(f.alias for d in dependants for f in d.query_params)
        reads_json = self.body_field is not None  # a FastAPI-parsed body (the API has no forms)

        async def handler(request: Request) -> Response:
            for check in checks:  # FastAPI runs them again, answered from the key cache
                await check(request, request.headers.get("authorization"))
            if request.scope["query_string"]:
                _refuse_unknown(request.query_params, declared)
                _refuse_control(request.query_params)
            if reads_json and (body := await read_body(request, runtime(request).settings.max_body_bytes)):
                read_json(body)  # FastAPI parses it again, now known to be within bounds
            return await inner(request)

        return handler


class DirectRoute(Route):
    """A :class:`Route` whose endpoint takes only the ``Request`` and returns a ``Response`` itself."""

    direct = True


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
