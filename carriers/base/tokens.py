"""Where carrier sessions keep their tokens, and the rules every token answer goes through.

A slot is kept per HTTP client (held weakly: it goes with the client) and per account identity, so every tracker and
filer built on the same ``httpx.AsyncClient`` for the same account shares one token. The identity (base URL and
credentials) is hashed: no secret is kept in clear as a key.

A token read from an answer must be one an ``Authorization`` header can carry (:func:`bearer`), and its next refresh
is never sooner than :data:`MIN_REFRESH` from now (:func:`refresh_time`): an expiry the carrier's clock puts in the
past must not make every following call fetch a new token. Messages name the field and what was expected, never the
token.
"""

import hashlib
import re
import weakref
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

import httpx

from carriers.base.errors import ContractError

T = TypeVar("T")
MIN_REFRESH = timedelta(minutes=5)  # a token answer is used at least this long, whatever expiry it states
_HEADER_SAFE = re.compile(r"[\x21-\x7e]+")  # visible ASCII: no space, control or non-ASCII character


class TokenSlots(Generic[T]):
    def __init__(self) -> None:
        self._by_client: weakref.WeakKeyDictionary[httpx.AsyncClient, dict[str, T]] = weakref.WeakKeyDictionary()

    def slot(self, http: httpx.AsyncClient, identity: Iterable[str], make: Callable[[], T]) -> T:
        """The slot of this client and identity, made by ``make`` the first time."""
        key = hashlib.sha256("\0".join(identity).encode()).hexdigest()
        slots = self._by_client.setdefault(http, {})
        if key not in slots:
            slots[key] = make()
        return slots[key]


def bearer(value: Any, field: str, *, carrier: str) -> str:
    """``value`` (the ``field`` of a token answer) if it can be sent as ``Authorization: Bearer``, else a
    :class:`ContractError` saying what it is instead — its type or length, never its characters."""
    if not isinstance(value, str):
        raise ContractError(
            f"token answer's {field!r} is {type(value).__name__}, expected a non-empty string", carrier=carrier
        )
    if not _HEADER_SAFE.fullmatch(value):
        what = "empty" if not value else f"a {len(value)}-character string with a space, control or non-ASCII character"
        raise ContractError(
            f"token answer's {field!r} is {what}: expected visible ASCII characters only (an HTTP header value)",
            carrier=carrier,
        )
    return value


def answer_keys(body: dict[str, Any]) -> str:
    """The keys of a token answer for a message: sorted, each cut short, at most 20."""
    names = sorted(body)
    more = f" and {len(names) - 20} more" if len(names) > 20 else ""
    return repr([name[:40] for name in names[:20]]) + more


def refresh_time(expires: datetime, now: datetime, before: timedelta) -> datetime:
    """When to fetch the next token: ``before`` its expiry (or at half its remaining life if that is shorter), and
    never sooner than :data:`MIN_REFRESH` from ``now``. A token refused meanwhile is replaced at once anyway."""
    remaining = max(expires - now, timedelta(0))
    return max(expires - min(before, remaining / 2), now + MIN_REFRESH)
