"""What the rules look at: a shipment's facts, read from its row and (in the poll pipeline) its live events."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from carriers.base import Reason, Status, TrackingEvent
from tracker.calendar import timezone_of


@dataclass(frozen=True, slots=True)
class Promise:
    """A delivery date and who gave it: ``store`` (the ERP's promise), ``carrier`` or ``estimate``."""

    day: date | None = None
    source: str | None = None


@dataclass(frozen=True, slots=True)
class Facts:
    shipment_id: int
    carrier_account_id: int
    carrier: str
    service: str | None
    uf: str | None  # destination state: its holidays and time zone
    status: Status
    reason: Reason | None  # of the latest live event
    registered_at: datetime  # shipped_at from the ERP, else when Zelo learnt of it
    last_event_at: datetime | None
    last_polled_at: datetime | None
    poll_ok: bool  # the latest poll got an answer: silence since the last event is the carrier's word
    delivered_at: datetime | None
    pickup_deadline: datetime | None
    promise: Promise  # what lateness is measured against: the original promise
    current_promise: Promise
    events: Sequence[TrackingEvent] | None = None  # live events, oldest first; None in the sweep

    def local_date(self, when: datetime) -> date:
        return when.astimezone(timezone_of(self.uf)).date()


def facts_of(row: Mapping[Any, Any], events: Sequence[TrackingEvent] | None = None) -> Facts:
    """Facts from a shipment row (the columns of ``FACT_COLUMNS``)."""
    return Facts(
        shipment_id=row["id"],
        carrier_account_id=row["carrier_account_id"],
        carrier=row["carrier"],
        service=row["service"],
        uf=row["destination_state"],
        status=Status(row["status"]),
        reason=Reason(row["status_reason"]) if row["status_reason"] else None,
        registered_at=row["shipped_at"] or row["created_at"],
        last_event_at=row["last_event_at"],
        last_polled_at=row["last_polled_at"],
        poll_ok=row["poll_error_count"] == 0 and row["poll_stopped"] in (None, "final"),
        delivered_at=row["delivered_at"],
        pickup_deadline=row["pickup_deadline"],
        promise=Promise(row["original_promise_date"], row["original_promise_source"]),
        current_promise=Promise(row["promise_date"], row["promise_source"]),
        events=events,
    )


FACT_COLUMNS = (
    "id",
    "carrier_account_id",
    "carrier",
    "service",
    "destination_state",
    "status",
    "status_reason",
    "shipped_at",
    "created_at",
    "last_event_at",
    "last_polled_at",
    "poll_error_count",
    "poll_stopped",
    "delivered_at",
    "pickup_deadline",
    "original_promise_date",
    "original_promise_source",
    "promise_date",
    "promise_source",
)
