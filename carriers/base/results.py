"""What an adapter returns: plain, immutable, carrier-neutral records."""

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from carriers.base.vocabulary import Reason, Status


@dataclass(frozen=True, slots=True)
class TrackingEvent:
    """One carrier checkpoint, normalized, with the raw code kept beside it."""

    occurred_at: datetime  # timezone-aware
    code: str  # the carrier's raw code, e.g. "BDE-01"
    status: Status
    reason: Reason | None
    description: str
    location: str | None = None
    detail: str | None = None
    pickup_deadline: datetime | None = None
    known_code: bool = True  # False: the pair is missing from the code table (mapped to a safe status)
    voided: bool = False  # a reversal (EST) or the event a reversal cancels; never drives status
    raw: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True, slots=True)
class ResultError:
    """A business answer from the carrier about one object; ``final`` stops polling it."""

    code: str
    message: str
    final: bool = False


RETURN_LEG = frozenset({Status.POSTED, Status.IN_TRANSIT, Status.OUT_FOR_DELIVERY})


@dataclass(frozen=True, slots=True)
class TrackingResult:
    tracking_code: str
    events: tuple[TrackingEvent, ...] = ()  # oldest first, voided ones included
    expected_delivery: date | None = None
    error: ResultError | None = None
    problems: tuple[str, ...] = ()  # data we could not use (missing date, unknown code), said plainly

    @property
    def live_events(self) -> tuple[TrackingEvent, ...]:
        return tuple(e for e in self.events if not e.voided)

    @property
    def status(self) -> Status:
        """The latest live event's status, except that once a parcel is on its way back to the sender, the
        transit events of that return leg keep it ``returning`` (they are not a new delivery attempt)."""
        live = self.live_events
        if not live:
            return Status.PENDING
        latest = live[-1].status
        if latest in RETURN_LEG and any(e.status is Status.RETURNING for e in live):
            return Status.RETURNING
        return latest
