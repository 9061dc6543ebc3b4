"""The carrier adapter protocol and the spec a carrier package registers.

An adapter is a small I/O shell (``client``) plus pure functions (``parse``). A carrier package
exposes one :class:`CarrierSpec` through the ``zelo.carriers`` entry-point group.
"""

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
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
# (request headers with lower-case names, raw body, one account's credentials) → whether that account signed it
VerifyPush = Callable[[Mapping[str, str], bytes, Mapping[str, str]], bool]


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
    secret_fields: tuple[str, ...] = ()  # credentials asked for without echo, never printed
    credential_help: Mapping[str, str] = field(default_factory=dict)  # what a credential is, in a few words (prompts)
    # Pushes (POST /v1/webhooks/carriers/{name}): ``verify_push`` authenticates one against an account's
    # credentials (the ``push_fields`` among them; an account without them takes no push) BEFORE the body is
    # parsed; ``parse_webhook`` then reads the JSON body. A pushed shipment is still polled every
    # ``poll_when_pushed`` (a lost push only delays an update).
    verify_push: VerifyPush | None = None
    push_fields: tuple[str, ...] = ()
    poll_when_pushed: timedelta = timedelta(hours=12)
    requests_per_second: float | None = None  # the API's rate limit per account (None: none known)
    code_format: str = ""  # the tracking code's format in a few words, for messages and docs

    @property
    def pushes(self) -> bool:
        return self.verify_push is not None

    def filer(self, name: str) -> MakeFiler:
        """The claim filer ``name`` this carrier offers; :class:`NotSupported` when it offers none by that name."""
        if name not in self.filers:
            raise NotSupported(f"claim filer {name}", carrier=self.name)
        return self.filers[name]
