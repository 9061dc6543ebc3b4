"""What every delivery channel speaks: an ``Outgoing`` message in, a ``Sent`` receipt or a
``ChannelError`` out. A ``TemporaryFailure`` may be retried as is (later, ``retry_after`` seconds at the
earliest when the peer said so); a ``PermanentFailure`` never is. ``supports_idempotency`` tells the
dispatcher whether a resend with the same ``idempotency_key`` is deduplicated by the receiver.

A channel awaits ``handed()`` once, at the last moment before the message leaves (built, its connection
in hand): the dispatcher records there that the message may have gone out. When ``handed()`` raises, the
channel sends nothing and lets the error through."""

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from tracker import mask

_ADDRESS = re.compile(r"\b([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+)")


@dataclass(frozen=True, slots=True)
class Outgoing:
    notification_id: int
    idempotency_key: str  # stable per notification across retries: e-mail Message-ID, webhook-id
    to: str  # e-mail address, E.164 phone (+5511...), or (ops webhook) ignored
    subject: str | None
    text: str
    html: str | None = None
    template: str | None = None  # WhatsApp approved template name
    template_params: tuple[str, ...] = ()  # body parameters, in order
    language: str = "pt_BR"
    payload: dict[str, Any] | None = None  # ops webhook: extra JSON merged into the Slack-compatible body
    headers: tuple[tuple[str, str], ...] = ()  # e-mail: Reply-To, List-Unsubscribe, ...
    date: datetime | None = None  # e-mail: the Date header, the send time on the injected clock (None: now)


@dataclass(frozen=True, slots=True)
class Sent:
    provider_id: str | None  # SMTP queue id / message id, WhatsApp message id (wamid...), webhook status


class ChannelError(Exception):
    """A send that did not happen; ``code`` is a machine code, ``str(exc)`` a message without contact data."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r}, {str(self)!r})"


class TemporaryFailure(ChannelError):
    """Retry later: network trouble, SMTP 4xx, HTTP 429/5xx, rate limits."""

    def __init__(self, code: str, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(code, message)
        self.retry_after = retry_after


class PermanentFailure(ChannelError):
    """Never retry as is: bad address, SMTP 5xx, invalid number, rejected template, bad credentials."""


Handed = Callable[[], Awaitable[None]]


async def unrecorded() -> None:
    """``handed`` for a send nobody records (a test, a preview)."""


class Port(Protocol):
    """A delivery channel's sending end (``notifier.vocabulary.Channel`` names the channels)."""

    name: str  # "email", "whatsapp", "ops_webhook"
    supports_idempotency: bool  # True when the receiver dedupes a resend on the idempotency key

    async def send(self, message: Outgoing, handed: Handed = unrecorded) -> Sent: ...

    async def aclose(self) -> None: ...


def mask_address(address: str) -> str:
    """``joana@example.com`` → ``j***@example.com``; a phone keeps its last 4 digits only."""
    if "@" in address:  # also inside a display form, ``Ops <ops@loja.example>``
        return _ADDRESS.sub(r"\1***@\2", address)
    return mask.phone(address)
