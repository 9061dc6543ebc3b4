"""What ``zelo api`` says: one start-up line, then one access line per request.

An access line has the method, the path, the status, the duration in milliseconds and who called: the
``webhook-id`` of a webhook, the prefix of an API key (the 12 hex digits ``zelo apikeys`` shows; never its secret).
Never a query string (filters may be customers' e-mails), a body or any other header. A path whose parameters are
not plain ids (``/c/{token}``: a customer's signed link) is logged as its route's template, and a path no route knows
(or an odd ``webhook-id``) goes through ``tracker.mask``.

The line is written here, not through structlog's processors: the webhook is the hot path (about 50 µs of CPU
each), and structlog's chain costs 20–40 µs a line; this costs a few. It has the form of the configured logs
(``ZELO_LOG_JSON``), at level info: below info (``ZELO_LOG_LEVEL=warning``) there is none."""

import json
import re
import sys
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from sqlalchemy.engine import make_url

from tracker.apikeys import key_parts
from tracker.config import Settings
from tracker.mask import scrub

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

_PLAIN = re.compile(r"[A-Za-z0-9_.:/{}()-]{1,100}")  # shown as it is (JSON-safe too), unless it holds a run of digits
_DIGITS = re.compile(r"[0-9]{4}")  # a phone's or a CEP's start: tracker.mask decides


def _plain(value: str) -> bool:
    return _PLAIN.fullmatch(value) is not None and _DIGITS.search(value) is None


class AccessLog:
    """ASGI middleware: one line per HTTP request, once its answer is sent (or it failed: status 500)."""

    def __init__(self, app: App, *, as_json: bool = False) -> None:
        self.app = app
        self.as_json = as_json
        self._second = -1
        self._stamp = ""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            self.write(scope, status, (time.perf_counter() - start) * 1000)

    def write(self, scope: Scope, status: int, ms: float) -> None:
        who = ""
        for name, value in scope["headers"]:
            if name == b"webhook-id":
                who += self._field("webhook_id", value.decode("latin-1"))
            elif name == b"authorization":
                scheme, _, given = value.decode("latin-1").partition(" ")
                if scheme.lower() != "bearer":  # not an API key: a carrier pushing (Basic)
                    continue
                parts = key_parts(given.strip())
                who += self._field("key", parts[0] if parts else "invalid", known=True)  # 12 hex digits
        now = time.time()
        second = int(now)
        if second != self._second:
            self._second, self._stamp = second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        stamp = f"{self._stamp}.{int((now - second) * 1e6):06d}Z"
        path, known = _path(scope)
        method, path = scope["method"], self._field("path", path, known)
        if self.as_json:
            line = f'{{"event":"request","method":"{method}"{path},"status":{status},"ms":{ms:.1f}{who},'
            line += f'"level":"info","timestamp":"{stamp}"}}\n'
        else:
            line = f"{stamp} [info     ] request method={method}{path} status={status} ms={ms:.1f}{who}\n"
        out = sys.stdout  # the stream of the moment, as structlog's lines
        out.write(line)
        out.flush()

    def _field(self, name: str, value: str, known: bool = False) -> str:
        if not known and not _plain(value):
            value = scrub(value[:100])
            value = json.dumps(value) if self.as_json else repr(value)
        elif self.as_json:
            value = f'"{value}"'
        return f',"{name}":{value}' if self.as_json else f" {name}={value}"


def _path(scope: Scope) -> tuple[str, bool]:
    """The path to show, and whether it is known safe: a route's own path, or its template when a parameter is
    not a plain id. Else (no route matched: a 404; a mount: the docs' assets) it is shown masked if need be."""
    template = getattr(scope.get("route"), "path", None)
    if template is None:
        return str(scope["path"]), False
    params = scope.get("path_params")
    if not params or all(str(v).isdigit() for v in params.values()):
        return str(scope["path"]), True
    return str(template), True


def startup_fields(settings: Settings, host: str, port: int, workers: int) -> dict[str, Any]:
    """What ``zelo api`` says when it starts: where it listens, on which database (its kind, host and name; never
    a user or a password) and in which mode: embedded on SQLite (one machine, one writer), scaled out on PostgreSQL
    (any number of API and poll processes share it), with the jobs in-process or through Redis."""
    url = make_url(settings.database_url)
    kind = url.get_backend_name()
    embedded = kind == "sqlite"
    where = (url.database or "") if embedded else f"{url.host or 'localhost'}:{url.port or 5432}/{url.database}"
    return {
        "listening": f"http://{host}:{port}",  # not "address": the logs hide a field of that name
        "workers": workers,
        "database": kind,
        "database_at": where,
        "mode": "embedded" if embedded else "scaled_out",
        "jobs": "redis" if settings.redis_url else "in-process",
    }
