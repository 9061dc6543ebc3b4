"""What ops read instead of the machine's words (``labels.toml``): kinds, severities, owners, evidence keys and
values in pt-BR, and instants as dd/mm/aaaa hh:mm in Brasília time, saying so."""

import re
import tomllib
from collections.abc import Mapping
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from tracker.calendar import timezone_of

LABELS_FILE = Path(__file__).with_name("labels.toml")
ZONE = "horário de Brasília"
_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


@cache
def labels() -> dict[str, Any]:
    return tomllib.loads(LABELS_FILE.read_text(encoding="utf-8"))


def label(table: str, value: Any) -> Any:
    """``value``'s label in ``table`` (kinds, severities, owners, evidence), or ``value`` itself."""
    return labels()[table].get(str(value), value) if value is not None else None


def instant(value: Any, *, zone: bool = True) -> str | None:
    """An instant (or its ISO text) as ``18/11/2026 18:00 (horário de Brasília)``; a naive one as given."""
    if not value:
        return None
    at = datetime.fromisoformat(value) if isinstance(value, str) else value
    if not isinstance(at, datetime):
        raise ValueError(f"expected an instant or its ISO text, got {type(value).__name__}")
    text = (at.astimezone(timezone_of(None)) if at.tzinfo else at).strftime("%d/%m/%Y %H:%M")
    return f"{text} ({ZONE})" if zone and at.tzinfo else text


def evidence_lines(evidence: Mapping[str, Any], *, photo_url: str | None = None) -> list[tuple[str, str]]:
    """Evidence as (label, text) lines for ops: nested objects as ``event.description``, dates as dd/mm/aaaa,
    instants in Brasília time, known values in words; the customer's photo as where ops can see it."""
    out: list[tuple[str, str]] = []
    for key, value in _flatten(evidence):
        if key == "checkin.photo":
            value = photo_url or "sim"
        out.append((str(label("evidence", key)), _value(key, value)))
    return out


def _value(key: str, value: Any) -> str:
    words = labels()["values"].get(key, {})
    if isinstance(value, bool):
        return "sim" if value else "não"
    if isinstance(value, str):
        if value in words:
            return str(words[value])
        if _INSTANT.fullmatch(value[:16]) and len(value) > 10:
            try:
                return instant(value) or value
            except ValueError:
                return value
        if _DAY.fullmatch(value):
            return date.fromisoformat(value).strftime("%d/%m/%Y")
    return str(words.get(str(value), value))


def _flatten(evidence: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    lines: list[tuple[str, Any]] = []
    for key, value in evidence.items():
        if isinstance(value, Mapping):
            lines += _flatten(value, f"{prefix}{key}.")
        elif value is not None:
            lines.append((f"{prefix}{key}", value))
    return lines
