"""Structured logs (structlog). Customer contact data never reaches a log in clear: every field of every
event goes through ``redact`` (``tracker.mask``), and so do the records of the standard ``logging`` module
(uvicorn's and starlette's tracebacks, asyncio's, SQLAlchemy's), rendered by the same processors."""

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

from tracker.mask import HIDDEN, scrub

SENSITIVE_KEYS = frozenset({"email", "phone", "customer_email", "customer_phone", "address", "customer_name"})
SERVER_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")  # uvicorn gives them handlers of their own


def redact(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Mask e-mail addresses, phone numbers and CEPs in every log field."""
    for key, value in list(event.items()):
        if key in SENSITIVE_KEYS and value:
            event[key] = HIDDEN
        elif isinstance(value, str):
            event[key] = scrub(value)
    return event


class _Stderr(logging.Handler):
    """Writes to the ``sys.stderr`` of the moment (not the one at set-up, which a test or a CLI runner may close)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            print(self.format(record), file=sys.stderr, flush=True)
        except Exception:
            self.handleError(record)


def configure(level: str = "info", json: bool = False, *, cache: bool = True) -> None:
    """Logs at ``level`` and up, as JSON lines or text; ``cache``: each logger keeps its configuration from its first
    use (fast; the tests turn it off, as a process configures its logs once and a test run many times)."""
    renderer: Any = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    stamped: list[Any] = [
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    rendered: list[Any] = [
        structlog.processors.format_exc_info,  # tracebacks become text first, so they are redacted too
        redact,
        renderer,
    ]
    numeric = logging.getLevelNamesMapping()[level.upper()]
    structlog.configure(
        processors=[structlog.contextvars.merge_contextvars, *stamped, *rendered],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        cache_logger_on_first_use=cache,
    )
    handler = _Stderr()
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[structlog.stdlib.add_logger_name, *stamped],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *rendered],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [h for h in root.handlers if not isinstance(h, _Stderr)] + [handler]
    root.setLevel(max(numeric, logging.WARNING))  # libraries' own chatter (httpx logs every request) stays out
    for name in SERVER_LOGGERS:  # through the root's handler, not their own (which would print in clear)
        server = logging.getLogger(name)
        server.handlers.clear()
        server.propagate = True
