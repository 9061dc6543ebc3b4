"""Where carrier sessions keep their tokens: one slot per HTTP client (held weakly: it goes with the client) and per
account identity, so every tracker and filer built on the same ``httpx.AsyncClient`` for the same account shares one
token. The identity (base URL and credentials) is hashed: no secret is kept in clear as a key."""

import hashlib
import weakref
from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

import httpx

T = TypeVar("T")


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
