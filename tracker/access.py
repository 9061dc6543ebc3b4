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

_PLAIN = re.compile(r"[A-Za-z0-9_.:/-]{1,100}")  # shown as it is, unless it holds a run of digits
_DIGITS = re.compile(r"[0-9]{4}")  # a phone's or a CEP's start: tracker.mask decides


def _shown(value: str) -> str:
    if _PLAIN.fullmatch(value) and not _DIGITS.search(value):
        return value
    return scrub(value[:100])


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
        fields: dict[str, Any] = {"method": scope["method"], "path": _path(scope), "status": status, "ms": round(ms, 1)}
        for name, value in scope["headers"]:
            if name == b"webhook-id":
                fields["webhook_id"] = _shown(value.decode("latin-1"))
            elif name == b"authorization":
                _, _, key = value.decode("latin-1").partition(" ")
                parts = key_parts(key.strip())
                fields["key"] = parts[0] if parts else "(not a key)"
        now = time.time()
        second = int(now)
        if second != self._second:
            self._second, self._stamp = second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        stamp = f"{self._stamp}.{int((now - second) * 1e6):06d}Z"
        if self.as_json:
            line = json.dumps({"event": "request", **fields, "level": "info", "timestamp": stamp})
        else:
            line = f"{stamp} [info     ] request " + " ".join(f"{k}={v}" for k, v in fields.items())
        out = sys.stdout  # the stream of the moment, as structlog's lines
        out.write(line + "\n")
        out.flush()


def _path(scope: Scope) -> str:
    route = scope.get("route")
    template = getattr(route, "path", None)
    if template is None:  # no route matched (a 404), or a mount (the docs' assets)
        return _shown(scope["path"])
    params = scope.get("path_params") or {}
    return scope["path"] if all(str(v).isdigit() for v in params.values()) else str(template)


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
