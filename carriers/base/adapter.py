"""The carrier adapter protocol and the spec a carrier package registers.

An adapter is a small I/O shell (``client``) plus pure functions (``parse``). A carrier package
exposes one :class:`CarrierSpec` through the ``zelo.carriers`` entry-point group.
"""

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import httpx

from carriers.base.claims import ClaimFiler
from carriers.base.errors import NotSupported
from carriers.base.results import TrackingResult

Sleep = Callable[[float], Awaitable[None]]
Now = Callable[[], datetime]


@dataclass(frozen=True, slots=True)
class AccountConfig:
    """A carrier account (one per contract): credentials stay per account, never global."""

    id: int
    carrier: str
    name: str
    base_url: str
    credentials: Mapping[str, str]


class Tracker(Protocol):
    """What the poller needs from a carrier adapter."""

    batch_limit: int

    async def track(self, codes: Sequence[str]) -> list[TrackingResult]:
        """Track up to ``batch_limit`` codes; one result per code, in any order."""
        ...


MakeFiler = Callable[[AccountConfig, httpx.AsyncClient, Now, Sleep], ClaimFiler]


def _no_webhook(payload: Any) -> list[TrackingResult]:
    raise NotSupported("webhook", carrier="?")


@dataclass(frozen=True, slots=True)
class CarrierSpec:
    """Everything Zelo knows about a carrier, registered under ``zelo.carriers``."""

    name: str
    title: str
    make_tracker: Callable[[AccountConfig, httpx.AsyncClient, Now, Sleep], Tracker]
    parse: Callable[[Any], list[TrackingResult]]
    check_code: Callable[[str], str | None]  # None when valid, else what is wrong
    credential_fields: tuple[str, ...]  # required for every account
    default_base_url: str
    parse_webhook: Callable[[Any], list[TrackingResult]] = _no_webhook
    filers: Mapping[str, MakeFiler] = field(default_factory=dict)  # claim filers by name (claims/policies.toml)
    optional_credential_fields: tuple[str, ...] = ()  # read when given (e.g. by a claim filer)

    def filer(self, name: str) -> MakeFiler:
        """The claim filer ``name`` this carrier offers; :class:`NotSupported` when it offers none by that name."""
        if name not in self.filers:
            raise NotSupported(f"claim filer {name}", carrier=self.name)
        return self.filers[name]
