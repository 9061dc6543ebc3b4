"""Structured logs (structlog). Customer contact data never reaches a log in clear: see ``redact``."""

import logging
import re
from collections.abc import MutableMapping
from typing import Any

import structlog

_EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")
_PHONE = re.compile(r"\+\d{10,15}\b|\(?\b\d{2}\)?\s?9?\d{4}-?\d{4}\b")
SENSITIVE_KEYS = frozenset({"email", "phone", "customer_email", "customer_phone", "address", "customer_name"})


def mask(text: str) -> str:
    """``text`` with its e-mail addresses and phone numbers masked (``m***@example.com``, ``***``)."""
    return _PHONE.sub("***", _EMAIL.sub(r"\1***@\2", text))


def redact(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Mask e-mail addresses and phone numbers in every log field."""
    for key, value in list(event.items()):
        if key in SENSITIVE_KEYS and value:
            event[key] = "***"
        elif isinstance(value, str):
            event[key] = mask(value)
    return event


def configure(level: str = "info", json: bool = False) -> None:
    renderer: Any = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,  # tracebacks become text first, so they are redacted too
            redact,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[level.upper()]),
        cache_logger_on_first_use=True,
    )
