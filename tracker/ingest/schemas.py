"""Pydantic I/O for shipments. Unknown fields are ignored but reported back as warnings."""

import dataclasses
import re
from collections.abc import Callable
from datetime import date, datetime, time
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal
from zoneinfo import ZoneInfo

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from carriers.base.registry import UnknownCarrier
from carriers.base.registry import get as get_carrier
from tracker.calendar import timezone_of
from tracker.ingest import validation as check
from tracker.problems import FieldError, field_errors
from tracker.shipments import ShipmentOut
from tracker.text import LINE, line_problem

MAX_BATCH = 1000


# Every text field is one line (tracker.text): item descriptions too, as they may end up in a WhatsApp template.
Text32 = Annotated[str, Field(min_length=1, max_length=32, pattern=LINE)]
Text50 = Annotated[str, Field(min_length=1, max_length=50, pattern=LINE)]
Text64 = Annotated[str, Field(min_length=1, max_length=64, pattern=LINE)]
Text100 = Annotated[str, Field(min_length=1, max_length=100, pattern=LINE)]
Text200 = Annotated[str, Field(min_length=1, max_length=200, pattern=LINE)]
Text300 = Annotated[str, Field(min_length=1, max_length=300, pattern=LINE)]


def _money(value: Any, info: ValidationInfo) -> Decimal:
    if isinstance(value, float) and info.context is not None:  # parsed from JSON by pydantic-core: see parse_all
        info.context[_FLOATS] = True
    return check.money(value, info.field_name or "amount")  # the error names the field (always set on a model)


Money = Annotated[Decimal, BeforeValidator(_money)]


class _In(BaseModel):
    model_config = ConfigDict(extra="allow", str_strip_whitespace=True)
    _nested: ClassVar[tuple[str, ...]] = ()  # fields holding _In models (or lists of them)

    def unknown_fields(self, prefix: str = "") -> list[str]:
        extra = self.__pydantic_extra__
        found = [f"{prefix}{name}" for name in extra] if extra else []
        fields = self.__dict__
        for name in self._nested:  # most shipments have no unknown field: each child is looked at once
            value = fields[name]
            if type(value) is list:
                for i, child in enumerate(value):
                    if child.__pydantic_extra__ or child._nested:
                        found += child.unknown_fields(f"{prefix}{name}[{i}].")
            elif value is not None and (value.__pydantic_extra__ or value._nested):
                found += value.unknown_fields(f"{prefix}{name}.")
        return found


class _Unusable(str):
    """A contact that failed its check: an empty text that says why. It stays in its field, which
    :meth:`ShipmentIn.columns` stores as null and :meth:`ShipmentIn.contact_warnings` reports (a private attribute
    for the warnings had every customer pay pydantic's private-attribute set-up and look-ups, about 8% of a batch's
    CPU: bench/NOTES.md)."""

    __slots__ = ("warning",)
    warning: str


def _contact(field: str, normalize: Callable[[str], str]) -> PlainValidator:
    """A customer's contact is optional for tracking: one that is unusable is not stored (and the item warned),
    instead of rejecting the shipment. A plain validator: the checks strip the text themselves, so pydantic-core's
    own string step (a wrap validator's handler, a call back into it per contact) adds nothing."""
    phone = field == "phone"

    def validate(value: Any) -> str:
        if phone and type(value) is int:  # an ERP's number column: 5511987654321
            value = str(value)
        if not isinstance(value, str):
            return _unusable(field, f"expected text, got {type(value).__name__}")
        try:
            return normalize(value.strip())
        except ValueError as exc:
            return _unusable(field, str(exc))

    return PlainValidator(validate, json_schema_input_type=str)


def _unusable(field: str, why: str) -> str:
    dropped = _Unusable()
    dropped.warning = f"customer.{field} not stored (the shipment is tracked without it): {why}"
    return dropped


class CustomerIn(_In):
    name: Text200 | None = None
    email: Annotated[str, _contact("email", check.email)] | None = Field(
        default=None, description="Not stored, with a warning on the item, when it is not a valid address."
    )
    phone: Annotated[str, _contact("phone", check.phone)] | None = Field(
        default=None,
        description="E.164, or as Brazil writes it: (11) 98765-4321, 11987654321, 5511987654321 (stored as E.164); "
        "not stored, with a warning on the item, when it is not a phone number.",
    )
    consent: bool | None = Field(  # strict: true or false, not 1 or "no"
        default=None, strict=True, description="The customer agreed to be contacted (LGPD)."
    )


class DestinationIn(_In):
    postal_code: Annotated[str, AfterValidator(check.cep)] | None = None
    city: Text100 | None = None
    state: Annotated[str, AfterValidator(check.uf)] | None = None


class OriginIn(_In):
    """The shipping warehouse: its CEP, its UF (found from the CEP when not given; when given, they must agree)."""

    postal_code: Annotated[str, AfterValidator(check.cep)] | None = None
    state: Annotated[str, AfterValidator(check.uf)] | None = None

    @model_validator(mode="after")
    def _state_of_cep(self) -> "OriginIn":
        if self.postal_code is None:
            return self
        found = check.uf_of_cep(self.postal_code)
        if self.state is None:
            self.state = found
        elif found is not None and found != self.state:
            raise ValueError(
                f"origin state {self.state} does not match its CEP, which is in {found} "
                f"({self.state}'s CEPs: {check.cep_range(self.state)})"
            )
        return self


class ItemIn(_In):
    sku: Text100
    quantity: int = Field(ge=1, le=100_000, strict=True)  # strict: a JSON integer, not true (was 1) nor "2"
    description: Text300 | None = None
    category: Text50 | None = Field(default=None, description="Product category (e.g. electronics): scorecards.")

    def stored(self) -> dict[str, Any]:
        """As the shipment's ``items`` column keeps it (no unknown fields, no nulls)."""
        f = self.__dict__
        kept: dict[str, Any] = {"sku": f["sku"], "quantity": f["quantity"]}
        if f["description"] is not None:
            kept["description"] = f["description"]
        if f["category"] is not None:
            kept["category"] = f["category"]
        return kept


class ShipmentIn(_In):
    _nested = ("customer", "destination", "origin", "items")
    external_id: Text100 | None = Field(default=None, description="The ERP's order or shipment id.")
    carrier: Text32
    carrier_account: Text100 | None = Field(
        default=None, description="Carrier account (contract) name; default: the carrier's first account."
    )
    tracking_code: Text64
    service: Text50 | None = None
    order_number: Text100 | None = None
    invoice_key: Annotated[str, AfterValidator(check.nfe_key)] | None = Field(
        default=None, description="NF-e access key (44 digits)."
    )
    shipped_at: AwareDatetime | None = Field(
        default=None,
        description="With its time zone (2026-11-30T14:00:00-03:00); a date alone (2026-11-30) is the start of "
        "that day in the destination's time zone (São Paulo's when no state is given).",
    )
    promised_delivery_date: date | None = None
    declared_value: Money | None = None
    shipping_cost: Money | None = None
    customer: CustomerIn | None = None
    destination: DestinationIn | None = None
    origin: OriginIn | None = Field(
        default=None, description="The shipping warehouse; default: its carrier account's origin, if it has one."
    )
    items: list[ItemIn] | None = Field(default=None, max_length=500)

    @field_validator("shipped_at", mode="before")
    @classmethod
    def _day_alone(cls, value: Any) -> Any:
        """A date alone: midnight in a zone (a ``ZoneInfo``, which no parsed offset is) fixed by ``_local_day``;
        anything else goes on to the datetime check (before it, not around it: no handler to call back)."""
        day = value.strip() if isinstance(value, str) else ""
        if len(day) == 10 and _DAY.fullmatch(day):  # the length first: a datetime is longer, and most are one
            try:
                return datetime.combine(date.fromisoformat(day), time(0), timezone_of(None))
            except ValueError:
                pass  # 2026-13-01: the datetime check says what is wrong
        return value

    @model_validator(mode="after")
    def _local_day(self) -> "ShipmentIn":
        shipped, state = self.shipped_at, self.destination.state if self.destination is not None else None
        if shipped is not None and state is not None and isinstance(shipped.tzinfo, ZoneInfo):
            self.shipped_at = shipped.replace(tzinfo=timezone_of(state))
        return self

    def contact_warnings(self) -> list[str]:
        """Why a customer's contact given was not stored (:class:`CustomerIn`)."""
        c = self.customer
        if c is None or (type(c.email) is not _Unusable and type(c.phone) is not _Unusable):
            return []
        return [v.warning for v in (c.email, c.phone) if type(v) is _Unusable]

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
        """The shipment's stored columns (customer and destination flattened). Read from the models' ``__dict__``
        and the items walked once: a batch builds this for each of its shipments."""
        f = self.__dict__
        c = (f["customer"] or _NO_CUSTOMER).__dict__
        d = (f["destination"] or _NO_DESTINATION).__dict__
        o = (f["origin"] or _NO_ORIGIN).__dict__
        items, stored, category = f["items"], None, None
        if items is not None:
            stored = []
            for item in items:
                stored.append(item.stored())
                if category is None:
                    category = item.category
        email, phone = c["email"], c["phone"]
        return {
            "external_id": f["external_id"],
            "carrier": f["carrier"],
            "tracking_code": f["tracking_code"],
            "service": f["service"],
            "order_number": f["order_number"],
            "invoice_key": f["invoice_key"],
            "shipped_at": f["shipped_at"],
            "promised_delivery_date": f["promised_delivery_date"],
            "declared_value": f["declared_value"],
            "shipping_cost": f["shipping_cost"],
            "customer_name": c["name"],
            "customer_email": None if type(email) is _Unusable else email,
            "customer_phone": None if type(phone) is _Unusable else phone,
            "customer_consent": c["consent"],
            "destination_postal_code": d["postal_code"],
            "destination_city": d["city"],
            "destination_state": d["state"],
            "origin_postal_code": o["postal_code"],
            "origin_state": o["state"],
            "category": category,
            "items": stored,
        }


_NO_CUSTOMER, _NO_DESTINATION, _NO_ORIGIN = CustomerIn(), DestinationIn(), OriginIn()
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


Outcome = Literal["created", "updated", "unchanged", "rejected"]


# One item's outcome. A plain dataclass: a batch builds and updates hundreds of them, and a pydantic model's
# validating constructor and __setattr__ cost several times as much; pydantic still documents and serializes it.
@dataclasses.dataclass(slots=True)
class ItemResult:
    index: int
    result: Outcome
    id: int | None = None
    external_id: str | None = None
    tracking_code: str | None = None
    changed: Annotated[list[str], Field(description="Fields an update changed.")] = dataclasses.field(
        default_factory=list
    )
    errors: list[FieldError] = dataclasses.field(default_factory=list)
    warnings: list[str] = dataclasses.field(default_factory=list)


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
            external_id=_echo(raw.get("external_id"), 100),
            tracking_code=_echo(raw.get("tracking_code"), 64),
            errors=field_errors(exc.errors(include_url=False), whole="(shipment)"),
        )


def _echo(value: Any, longest: int) -> str | None:
    """An identity of a rejected item, to echo in its result if it is plausible text (else the index says which)."""
    return value if isinstance(value, str) and len(value) <= longest and line_problem(value) is None else None


class _AllShipments(BaseModel):
    shipments: list[ShipmentIn] = Field(max_length=MAX_BATCH)


class _AllValid(BaseModel):
    type: Literal["shipment.upsert"]
    data: _AllShipments


# pydantic-core reads a JSON number with a fraction or an exponent as a float: 1e-400 would be 0, and
# 129.999999999999999999 would be 130. A float holds any number of up to 15 significant digits exactly, so an
# amount is taken as parsed unless the body has a number with an exponent or 16 digits or more (text in strings
# may match too: that body merely takes the exact path).
_INEXACT = re.compile(rb"[:,\[]\s*-?(?:[0-9.]{17}|[0-9.]*[eE])")
_FLOATS = "floats"  # the validation context's mark: an amount came as a float


def parse_all(body: bytes) -> list[ShipmentIn] | None:
    """A webhook body whose envelope and shipments are all valid, parsed and validated in one pass of
    pydantic-core (no intermediate Python dicts); None if anything is wrong, or if an amount came as a number a
    float may not hold exactly, and the caller then takes the per-item path (:func:`parse_item`, on exact
    decimals), which rejects exactly the bad items and says why."""
    context: dict[str, bool] = {}
    try:
        shipments = _AllValid.model_validate_json(body, context=context).data.shipments
    except ValidationError:
        return None
    return None if context and _INEXACT.search(body) else shipments


class ShipmentsData(BaseModel):
    shipments: list[ShipmentIn] = Field(
        max_length=MAX_BATCH, description=f"Up to {MAX_BATCH} shipments; each is validated on its own."
    )


class WebhookEnvelope(BaseModel):
    """``POST /v1/webhooks/erp`` body (documentation: the route validates the raw body itself)."""

    type: Literal["shipment.upsert"]
    data: ShipmentsData


class IngestResponse(BaseModel):
    results: list[ItemResult]


_RESULTS = TypeAdapter(list[ItemResult])


def ingest_response(results: list[ItemResult]) -> str:
    """The JSON text of ``IngestResponse(results=results)``, without validating the results again."""
    return '{"results":' + _RESULTS.dump_json(results).decode() + "}"


class RevisionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    changed_at: datetime
    source: str
    changes: dict[str, Any]


class UpsertAnswer(BaseModel):
    result: ItemResult
    shipment: ShipmentOut | None
