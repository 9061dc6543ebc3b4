"""The evidence of a claim, gathered in one read: the parcel's facts and full event history with the carrier's
raw codes, the customer's check-in and photo, the messages sent to the customer, and the claim's own history
and filings. The claim packet (``packet.py``) and the filers are made from it.

Who reads it decides what it shows of the customer (``tracker.mask``, the one masker): the carrier gets the
addressee's name and destination in clear (its form asks for them), anyone else their masked hints; the
customer's e-mail and phone are never in clear, and every free text the customer wrote is scrubbed.
"""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from claims.models import Claim, ClaimChange, ClaimFiling
from notifier import Checkin, Notification
from tracker import mask
from tracker.models import Shipment, TrackingEvent

Audience = Literal["carrier", "ops"]
CUSTOMER_CHANNELS = ("email", "whatsapp", "wa_link")  # messages to the customer (not the ops alerts)
SENT = ("sent", "queued")  # queued: a wa.me link handed to ops to send by hand


@dataclass(frozen=True, slots=True)
class Addressee:
    name: str | None
    email: str | None  # always masked
    phone: str | None  # always masked
    postal_code: str | None
    city: str | None
    state: str | None


@dataclass(frozen=True, slots=True)
class Parcel:
    id: int
    carrier: str
    service: str | None
    tracking_code: str
    external_id: str | None
    order_number: str | None
    invoice_key: str | None  # the NF-e access key
    declared_value: Decimal | None
    shipping_cost: Decimal | None
    shipped_at: datetime | None
    posted_at: datetime | None
    promised_delivery_date: date | None  # the store's promise
    original_promise_date: date | None  # what lateness is measured against
    carrier_expected_delivery: date | None  # the carrier's dtPrevista
    delivered_at: datetime | None
    status: str
    items: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Event:
    occurred_at: datetime
    code: str  # the carrier's raw code (TYPE-STATUS for Correios)
    status: str
    reason: str | None
    description: str
    location: str | None
    voided: bool  # reversed by the carrier (EST)


@dataclass(frozen=True, slots=True)
class CheckinAnswer:
    answer: str  # accepted | with_issue | not_received
    comment: str | None  # scrubbed of any e-mail, phone or CEP
    answered_at: datetime
    photo: str | None  # the photo's file name under the uploads folder (``notifier.photo_file``)
    incident_id: int | None


@dataclass(frozen=True, slots=True)
class Message:
    trigger: str
    channel: str
    status: str
    created_at: datetime
    sent_at: datetime | None


@dataclass(frozen=True, slots=True)
class Change:
    at: datetime
    actor: str
    action: str
    from_status: str | None
    to_status: str | None
    note: str | None


@dataclass(frozen=True, slots=True)
class Attempt:
    at: datetime
    filer: str
    operation: str
    outcome: str
    protocol: str | None
    code: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class Evidence:
    audience: Audience
    claim: Claim  # the claim row as read (no customer data on it)
    parcel: Parcel
    addressee: Addressee
    events: list[Event]  # oldest first, reversed ones included (marked)
    checkin: CheckinAnswer | None
    messages: list[Message]  # sent to the customer, oldest first
    history: list[Change]
    filings: list[Attempt]

    @property
    def reference(self) -> str:
        """What names the claim everywhere: the carrier's protocol, else Zelo's claim number."""
        return self.claim.protocol or f"ZELO-{self.claim.id}"


async def gather(session: AsyncSession, claim_id: int, audience: Audience) -> Evidence:
    """The evidence of claim ``claim_id`` as ``audience`` may see it; :class:`LookupError` if there is none."""
    claim = await session.get(Claim, claim_id)
    shipment = await session.get(Shipment, claim.shipment_id) if claim else None
    if claim is None or shipment is None:
        raise LookupError(f"no claim {claim_id}")
    s = shipment.id
    events = await session.scalars(
        select(TrackingEvent).where(TrackingEvent.shipment_id == s).order_by(TrackingEvent.occurred_at)
    )
    checkin = await session.scalar(select(Checkin).where(Checkin.shipment_id == s))
    messages = await session.scalars(
        select(Notification)
        .where(
            Notification.shipment_id == s,
            Notification.channel.in_(CUSTOMER_CHANNELS),
            Notification.status.in_(SENT),
        )
        .order_by(Notification.created_at, Notification.id)
    )
    history = await session.scalars(
        select(ClaimChange).where(ClaimChange.claim_id == claim_id).order_by(ClaimChange.id)
    )
    filings = await session.scalars(
        select(ClaimFiling).where(ClaimFiling.claim_id == claim_id).order_by(ClaimFiling.id)
    )
    return Evidence(
        audience=audience,
        claim=claim,
        parcel=_parcel(shipment),
        addressee=addressee(shipment, audience),
        events=[_fields(Event, e) for e in events],
        checkin=_checkin(checkin) if checkin else None,
        messages=[_fields(Message, m) for m in messages],
        history=[_fields(Change, c) for c in history],
        filings=[_fields(Attempt, f) for f in filings],
    )


def addressee(s: Shipment, audience: Audience) -> Addressee:
    """The customer as ``audience`` sees them: e-mail and phone masked for everyone."""
    clear = audience == "carrier"

    def hint(value: str | None, masker: Any) -> str | None:
        return None if value is None else (value if clear else masker(value))

    return Addressee(
        name=hint(s.customer_name, mask.initial),
        email=mask.email(s.customer_email) if s.customer_email else None,
        phone=mask.phone(s.customer_phone) if s.customer_phone else None,
        postal_code=hint(s.destination_postal_code, mask.cep),
        city=hint(s.destination_city, mask.initial),
        state=s.destination_state,
    )


def _parcel(s: Shipment) -> Parcel:
    values = {name: getattr(s, name) for name in Parcel.__dataclass_fields__ if name != "items"}
    return Parcel(**values, items=list(s.items or []))


def _checkin(c: Checkin) -> CheckinAnswer:
    comment = mask.scrub(c.comment) if c.comment else None
    return CheckinAnswer(c.answer, comment, c.answered_at, c.photo_path, c.incident_id)


def _fields(kind: Any, row: Any) -> Any:
    return kind(**{name: getattr(row, name) for name in kind.__dataclass_fields__})
