"""Shipments as the API shows them (pydantic)."""

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field


class CustomerOut(BaseModel):
    name: str | None
    email: str | None
    phone: str | None
    consent: bool


class DestinationOut(BaseModel):
    postal_code: str | None
    city: str | None
    state: str | None


class OriginOut(BaseModel):
    postal_code: str | None
    state: str | None


class ShipmentOut(BaseModel):
    id: int
    external_id: str | None
    carrier: str
    tracking_code: str
    service: str | None
    order_number: str | None
    invoice_key: str | None
    shipped_at: datetime | None
    promised_delivery_date: date | None
    declared_value: Decimal | None
    shipping_cost: Decimal | None
    customer: CustomerOut
    destination: DestinationOut
    origin: OriginOut = Field(description="The shipping warehouse as the ERP gave it (null: its account's origin).")
    category: str | None = Field(description="Its items' product category (the first item's that names one).")
    items: list[dict[str, Any]]
    status: str
    status_reason: str | None
    last_event_at: datetime | None
    carrier_expected_delivery: date | None
    delivered_at: datetime | None
    next_poll_at: datetime | None
    poll_error: str | None
    held_reason: str | None = Field(
        description="Why the shipment is stored but not polled yet: `no_account` (no account of its carrier, or of "
        "the `carrier_account` it named, existed when it came; adding that account releases it); null when tracked."
    )
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, s: Any) -> "ShipmentOut":
        fields = {k: getattr(s, k) for k in cls.model_fields if k not in ("customer", "destination", "origin", "items")}
        return cls(
            **fields,
            items=s.items or [],
            customer=CustomerOut(
                name=s.customer_name, email=s.customer_email, phone=s.customer_phone, consent=s.customer_consent
            ),
            destination=DestinationOut(
                postal_code=s.destination_postal_code, city=s.destination_city, state=s.destination_state
            ),
            origin=OriginOut(postal_code=s.origin_postal_code, state=s.origin_state),
        )


class ShipmentPage(BaseModel):
    shipments: list[ShipmentOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class NewEventOut(BaseModel):
    occurred_at: datetime
    code: str
    status: str
    description: str
    location: str | None


class RefreshOut(BaseModel):
    """What ``POST /v1/shipments/{id}/refresh`` changed: the poll ran now, as a scheduled one would."""

    shipment_id: int
    tracking_code: str
    polled_at: datetime
    status_before: str
    status_after: str
    events: list[NewEventOut] = Field(description="Events new since the last poll, oldest first.")
    incidents_opened: list[str] = Field(description="Kinds of the incidents the detector opened.")
    error: str | None = Field(description="Why the poll failed (retried on the schedule), or the carrier's message.")
