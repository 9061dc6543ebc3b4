"""Structured logs (structlog). Customer contact data never reaches a log in clear: every field of every
event, nested ones too, goes through ``redact`` (``tracker.mask``), and so do the records of the standard
``logging`` module (uvicorn's and starlette's tracebacks, asyncio's, SQLAlchemy's), rendered by the same
processors."""

import logging
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any

import structlog

from tracker.mask import HIDDEN, scrub

SENSITIVE_KEYS = frozenset(
    {"email", "phone", "customer_email", "customer_phone", "address", "customer_name", "customer", "name"}
)
SERVER_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")  # uvicorn gives them handlers of their own
DEPTH = 8  # nesting below this is rendered as text (and scrubbed) whole


def redact(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Mask e-mail addresses, phone numbers and CEPs in every log field, at any depth (dicts, lists and tuples
    inside a field), and in the text of any other object (an exception, a number) a renderer would show."""
    for key, value in list(event.items()):
        event[key] = _masked(key, value, 0)
    return event


def _masked(key: Any, value: Any, depth: int) -> Any:
    if key in SENSITIVE_KEYS and value:
        return HIDDEN
    if isinstance(value, str):
        return scrub(value)
    if value is None or isinstance(value, bool | float):
        return value
    if isinstance(value, int):  # a phone given as a number
        text = str(value)
        return value if scrub(text) == text else scrub(text)
    if depth < DEPTH and isinstance(value, Mapping):
        return {(scrub(k) if isinstance(k, str) else k): _masked(k, v, depth + 1) for k, v in value.items()}
    if depth < DEPTH and isinstance(value, list | tuple | set | frozenset):
        return [_masked(None, v, depth + 1) for v in value]
    return scrub(repr(value))  # as the renderers show an object they do not know


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
