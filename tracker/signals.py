"""What the detector tells others in the same transaction (the notifier's outbox listens): incidents raised
and shipments whose status moved; and what any feature tells ops (an :class:`Alert`, through the runtime's
``alert`` sink: a claim's deadline). Listeners and sinks write rows; they never send anything themselves."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from carriers.base import Status
from tracker.vocabulary import Kind, Severity


@dataclass(frozen=True, slots=True)
class Raised:
    """An incident that was opened, reopened, escalated or re-triggered (a new attempt, a new silence): what
    the notifier tells the customer and ops about, in the same transaction."""

    incident_id: int
    shipment_id: int
    kind: Kind
    action: str  # opened | reopened | escalated | retriggered
    severity: Severity
    evidence: dict[str, Any]
    trigger: str


@dataclass(frozen=True, slots=True)
class Moved:
    """A shipment's status changed with the carrier's latest events."""

    shipment_id: int
    previous: Status
    status: Status
    at: datetime | None  # the latest live event: one message per status change, never per checkpoint


class Listener(Protocol):
    async def __call__(
        self, session: AsyncSession, raised: list[Raised], moved: list[Moved], now: datetime
    ) -> None: ...


@dataclass(frozen=True, slots=True)
class Alert:
    """Something ops must hear about, from a feature other than the detector; once per ``key``, ever."""

    shipment_id: int
    topic: str  # what it is about: "claim" (the notifier picks its template by it)
    key: str
    severity: Severity
    facts: dict[str, Any]


class AlertSink(Protocol):
    """Queues alerts in the caller's transaction (the notifier's outbox); how many were new."""

    async def __call__(self, session: AsyncSession, alerts: Sequence[Alert], now: datetime) -> int: ...
