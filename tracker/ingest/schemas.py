"""Pydantic I/O for shipments. Unknown fields are ignored but reported back as warnings."""

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from carriers.base.registry import UnknownCarrier
from carriers.base.registry import get as get_carrier
from notifier.schemas import NotificationOut
from tracker.detector.schemas import IncidentBrief
from tracker.ingest import validation as check

MAX_BATCH = 1000


def _text(max_length: int) -> Any:
    return Annotated[str, Field(min_length=1, max_length=max_length)]


class _In(BaseModel):
    model_config = ConfigDict(extra="allow", str_strip_whitespace=True)
    _nested: ClassVar[tuple[str, ...]] = ()  # fields holding _In models (or lists of them)

    def unknown_fields(self, prefix: str = "") -> list[str]:
        found = [f"{prefix}{name}" for name in self.__pydantic_extra__ or ()]
        for name in self._nested:
            value = getattr(self, name)
            if isinstance(value, list):
                for i, child in enumerate(value):
                    found += child.unknown_fields(f"{prefix}{name}[{i}].")
            elif value is not None:
                found += value.unknown_fields(f"{prefix}{name}.")
        return found


class CustomerIn(_In):
    name: _text(200) | None = None  # type: ignore[valid-type]
    email: Annotated[str, BeforeValidator(check.email)] | None = None
    phone: Annotated[str, BeforeValidator(check.phone)] | None = None
    consent: bool | None = Field(default=None, description="The customer agreed to be contacted (LGPD).")


class DestinationIn(_In):
    postal_code: Annotated[str, BeforeValidator(check.cep)] | None = None
    city: _text(100) | None = None  # type: ignore[valid-type]
    state: Annotated[str, BeforeValidator(check.uf)] | None = None


class ItemIn(_In):
    sku: _text(100)  # type: ignore[valid-type]
    quantity: int = Field(ge=1, le=100_000)
    description: _text(300) | None = None  # type: ignore[valid-type]


def _money(field: str) -> Any:
    return Annotated[Decimal, BeforeValidator(lambda v: check.money(v, field))]


class ShipmentIn(_In):
    _nested = ("customer", "destination", "items")
    external_id: _text(100) | None = Field(default=None, description="The ERP's order or shipment id.")  # type: ignore[valid-type]
    carrier: _text(32)  # type: ignore[valid-type]
    carrier_account: _text(100) | None = Field(  # type: ignore[valid-type]
        default=None, description="Carrier account (contract) name; default: the carrier's first account."
    )
    tracking_code: _text(64)  # type: ignore[valid-type]
    service: _text(50) | None = None  # type: ignore[valid-type]
    order_number: _text(100) | None = None  # type: ignore[valid-type]
    invoice_key: Annotated[str, BeforeValidator(check.nfe_key)] | None = Field(
        default=None, description="NF-e access key (44 digits)."
    )
    shipped_at: AwareDatetime | None = None
    promised_delivery_date: date | None = None
    declared_value: _money("declared_value") | None = None  # type: ignore[valid-type]
    shipping_cost: _money("shipping_cost") | None = None  # type: ignore[valid-type]
    customer: CustomerIn | None = None
    destination: DestinationIn | None = None
    items: list[ItemIn] | None = Field(default=None, max_length=500)

    @field_validator("carrier")
    @classmethod
    def _known_carrier(cls, value: str) -> str:
        try:
            return get_carrier(value.lower()).name
        except UnknownCarrier as exc:
            raise ValueError(str(exc)) from None

    @field_validator("tracking_code")
    @classmethod
    def _valid_code(cls, value: str, info: ValidationInfo) -> str:
        code = value.upper().replace(" ", "")
        carrier = info.data.get("carrier")
        if carrier is not None:  # an unknown carrier is reported on its own field
            problem = get_carrier(carrier).check_code(code)
            if problem:
                raise ValueError(problem)
        return code

    def columns(self) -> dict[str, Any]:
        """The shipment's stored columns (customer and destination flattened)."""
        c, d = self.customer or CustomerIn(), self.destination or DestinationIn()
        return {
            "external_id": self.external_id,
            "carrier": self.carrier,
            "tracking_code": self.tracking_code,
            "service": self.service,
            "order_number": self.order_number,
            "invoice_key": self.invoice_key,
            "shipped_at": self.shipped_at,
            "promised_delivery_date": self.promised_delivery_date,
            "declared_value": self.declared_value,
            "shipping_cost": self.shipping_cost,
            "customer_name": c.name,
            "customer_email": c.email,
            "customer_phone": c.phone,
            "customer_consent": c.consent,
            "destination_postal_code": d.postal_code,
            "destination_city": d.city,
            "destination_state": d.state,
            "items": None
            if self.items is None
            else [i.model_dump(exclude_none=True, include={"sku", "quantity", "description"}) for i in self.items],
        }


class FieldError(BaseModel):
    field: str
    message: str


Outcome = Literal["created", "updated", "unchanged", "rejected"]


class ItemResult(BaseModel):
    index: int
    result: Outcome
    id: int | None = None
    external_id: str | None = None
    tracking_code: str | None = None
    changed: list[str] = Field(default_factory=list, description="Fields an update changed.")
    errors: list[FieldError] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)


def field_errors(exc: ValidationError) -> list[FieldError]:
    """Pydantic's errors as ``field: message`` pairs that say what is wrong and what is expected."""
    out = []
    for err in exc.errors(include_url=False):
        field = ".".join(str(p) for p in err["loc"]) or "(shipment)"
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "missing":
            message = f"{field} is required"
        elif err["type"] not in ("value_error", "assertion_error") and "input" in err:
            message = f"{message}; got {err['input']!r}"
        out.append(FieldError(field=field, message=message))
    return out


def parse_item(index: int, raw: Any) -> tuple[ShipmentIn | None, ItemResult | None]:
    """Validate one shipment; on failure, the ``rejected`` result that says why."""
    if not isinstance(raw, dict):
        error = FieldError(field="(shipment)", message=f"expected a JSON object, got {type(raw).__name__}")
        return None, ItemResult(index=index, result="rejected", errors=[error])
    try:
        return ShipmentIn.model_validate(raw), None
    except ValidationError as exc:
        return None, ItemResult(
            index=index,
            result="rejected",
            external_id=raw.get("external_id") if isinstance(raw.get("external_id"), str) else None,
            tracking_code=raw.get("tracking_code") if isinstance(raw.get("tracking_code"), str) else None,
            errors=field_errors(exc),
        )


class ShipmentsData(BaseModel):
    shipments: list[Any] = Field(max_length=MAX_BATCH, description=f"Up to {MAX_BATCH} shipments.")


class WebhookEnvelope(BaseModel):
    """``POST /v1/webhooks/erp`` body."""

    type: Literal["shipment.upsert"]
    data: ShipmentsData


class IngestResponse(BaseModel):
    results: list[ItemResult]


class CustomerOut(BaseModel):
    name: str | None
    email: str | None
    phone: str | None
    consent: bool


class DestinationOut(BaseModel):
    postal_code: str | None
    city: str | None
    state: str | None


class EventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    occurred_at: datetime
    code: str
    status: str
    reason: str | None
    description: str
    location: str | None
    voided: bool


class RevisionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    changed_at: datetime
    source: str
    changes: dict[str, Any]


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
    items: list[dict[str, Any]]
    status: str
    status_reason: str | None
    last_event_at: datetime | None
    carrier_expected_delivery: date | None
    delivered_at: datetime | None
    next_poll_at: datetime | None
    poll_error: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, s: Any) -> "ShipmentOut":
        fields = {k: getattr(s, k) for k in cls.model_fields if k not in ("customer", "destination", "items")}
        return cls(
            **fields,
            items=s.items or [],
            customer=CustomerOut(
                name=s.customer_name, email=s.customer_email, phone=s.customer_phone, consent=s.customer_consent
            ),
            destination=DestinationOut(
                postal_code=s.destination_postal_code, city=s.destination_city, state=s.destination_state
            ),
        )


class ShipmentDetail(ShipmentOut):
    events: list[EventOut]
    revisions: list[RevisionOut]
    incidents: list[IncidentBrief]
    notifications: list[NotificationOut]


class ShipmentPage(BaseModel):
    shipments: list[ShipmentOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class UpsertAnswer(BaseModel):
    result: ItemResult
    shipment: ShipmentOut | None
