"""Core tables: carrier accounts, shipments (with their poll state), tracking events and API keys."""

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, ClassVar, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on SQLite (no time zones) as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()} given; expected a timezone-aware one")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime(), dict[str, Any]: JSON(), list[Any]: JSON()}


class CarrierAccount(Base):
    """One carrier contract: its credentials (encrypted) and the circuit state of its API."""

    __tablename__ = "carrier_accounts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    carrier: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(100), unique=True)
    base_url: Mapped[str] = mapped_column(String(300))
    credentials: Mapped[str] = mapped_column(Text)  # Fernet token of a JSON object
    created_at: Mapped[datetime]
    # requests per second this account may make; None: its carrier's limit (CarrierSpec.requests_per_second)
    requests_per_second: Mapped[float | None] = mapped_column(Float)
    # the warehouse its parcels leave from, for the shipments that name no origin of their own (scorecard routes)
    origin_postal_code: Mapped[str | None] = mapped_column(String(8))
    origin_state: Mapped[str | None] = mapped_column(String(2))
    # circuit breaker, shared by every poller through the database
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    circuit_open_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    last_success_at: Mapped[datetime | None]

    def circuit_open(self, now: datetime) -> bool:
        """While open, the account's shipments are not polled and its parcels' silence is not evidence."""
        return self.circuit_open_until is not None and self.circuit_open_until > now


class ApiKey(Base):
    """An API key, stored as a SHA-256 hash; the clear key is shown once, when created."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[str] = mapped_column(String(100))  # comma-separated: read, write, admin
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


# The statuses the sweep's partial indexes hold (migration 0014): those that can stall or go silent,
# those in flight against a promise, those not posted, those waiting at a pickup point. A status the rules
# are configured to look at beyond these is still swept, through a plain scan.
SWEEP_SILENCE = "status IN ('posted', 'in_transit', 'out_for_delivery', 'delivery_failed', 'returning')"
SWEEP_PROMISE = "status IN ('posted', 'in_transit', 'out_for_delivery', 'held')"
SWEEP_PENDING = "status = 'pending'"
SWEEP_PICKUP = "status = 'awaiting_pickup'"


def _where(condition: str) -> dict[str, Any]:
    return {"postgresql_where": text(condition), "sqlite_where": text(condition)}


class Shipment(Base):
    __tablename__ = "shipments"
    __table_args__ = (
        UniqueConstraint("carrier", "tracking_code", name="uq_shipments_carrier_code"),
        Index(
            "ix_shipments_due",
            "next_poll_at",
            postgresql_where=text("next_poll_at IS NOT NULL"),
            sqlite_where=text("next_poll_at IS NOT NULL"),
        ),
        # the detector's sweep (tracker.detector.sweep), partial: most rows are delivered and never looked at
        Index("ix_shipments_sweep_silence", "status", "last_event_at", **_where(SWEEP_SILENCE)),
        Index("ix_shipments_sweep_promise", "status", "original_promise_date", **_where(SWEEP_PROMISE)),
        Index("ix_shipments_sweep_pending", text("coalesce(shipped_at, created_at)"), **_where(SWEEP_PENDING)),
        Index("ix_shipments_sweep_pickup", "pickup_deadline", **_where(SWEEP_PICKUP)),
        # held shipments, released by carrier when its account is added
        Index(
            "ix_shipments_held",
            "carrier",
            postgresql_where=text("held_reason IS NOT NULL"),
            sqlite_where=text("held_reason IS NOT NULL"),
        ),
        # the rollups: a day's shipments (tracker.metrics), and what changed since the last rollup
        Index("ix_shipments_metrics_at", text("coalesce(shipped_at, created_at)")),
        Index("ix_shipments_updated_at", "updated_at"),
        # room on each page for a claim's in-place update of poll_leased_until (migration 0016)
        {"postgresql_with": {"fillfactor": 85}},
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    external_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    carrier: Mapped[str] = mapped_column(String(32))
    # None while held: no account of its carrier (or of the one named) existed when it came (see held_reason)
    carrier_account_id: Mapped[int | None] = mapped_column(ForeignKey("carrier_accounts.id"), index=True)
    tracking_code: Mapped[str] = mapped_column(String(64))
    service: Mapped[str | None] = mapped_column(String(50))
    order_number: Mapped[str | None] = mapped_column(String(100))
    invoice_key: Mapped[str | None] = mapped_column(String(44))
    shipped_at: Mapped[datetime | None]
    promised_delivery_date: Mapped[date | None] = mapped_column(Date)
    declared_value: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    shipping_cost: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    customer_name: Mapped[str | None] = mapped_column(String(200))
    customer_email: Mapped[str | None] = mapped_column(String(320))
    customer_phone: Mapped[str | None] = mapped_column(String(20))
    customer_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    destination_postal_code: Mapped[str | None] = mapped_column(String(8))
    destination_city: Mapped[str | None] = mapped_column(String(100))
    destination_state: Mapped[str | None] = mapped_column(String(2))
    # the shipping warehouse, when the ERP names it (else its account's origin counts: tracker.metrics)
    origin_postal_code: Mapped[str | None] = mapped_column(String(8))
    origin_state: Mapped[str | None] = mapped_column(String(2))
    # the product category of its items (the first item's that has one): a scorecard dimension
    category: Mapped[str | None] = mapped_column(String(50))
    rolled_day: Mapped[date | None] = mapped_column(Date)  # the day the rollups last counted it under
    items: Mapped[list[Any] | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    # where the parcel is, derived from its live (non-voided) events
    status: Mapped[str] = mapped_column(String(32), default="pending")
    status_reason: Mapped[str | None] = mapped_column(String(32))
    status_changed_at: Mapped[datetime | None]
    last_event_at: Mapped[datetime | None]
    carrier_expected_delivery: Mapped[date | None] = mapped_column(Date)
    delivered_at: Mapped[datetime | None]

    # kept by the detector (tracker/detector): promises, posting, pickup deadline, transit time
    posted_at: Mapped[datetime | None]  # the first carrier event
    pickup_deadline: Mapped[datetime | None]  # while awaiting pickup
    transit_business_days: Mapped[int | None] = mapped_column(Integer)  # posted → delivered
    promise_date: Mapped[date | None] = mapped_column(Date)  # the best date known now
    promise_source: Mapped[str | None] = mapped_column(String(16))  # store | carrier | estimate
    original_promise_date: Mapped[date | None] = mapped_column(Date)  # what lateness is measured against
    original_promise_source: Mapped[str | None] = mapped_column(String(16))

    # poll state
    next_poll_at: Mapped[datetime | None]  # None: not polled any more (see poll_stopped)
    last_polled_at: Mapped[datetime | None]
    poll_leased_until: Mapped[datetime | None]  # claimed by a poller until then; cleared when its answer is stored
    pushed_at: Mapped[datetime | None]  # the carrier's last push about it (then it is polled only rarely)
    poll_error: Mapped[str | None] = mapped_column(Text)
    poll_error_count: Mapped[int] = mapped_column(Integer, default=0)
    poll_stopped: Mapped[str | None] = mapped_column(String(32))  # invalid_code | final | retired
    # held: stored but not polled (next_poll_at None) until its account exists; ``no_account``
    held_reason: Mapped[str | None] = mapped_column(String(32))
    requested_account: Mapped[str | None] = mapped_column(String(100))  # the account name it waits for, if named
    events_digest: Mapped[str | None] = mapped_column(String(32))


class TrackingEvent(Base):
    """A carrier checkpoint as stored: the raw code beside the normalized status and reason."""

    __tablename__ = "tracking_events"
    __table_args__ = (UniqueConstraint("shipment_id", "occurred_at", "code", name="uq_tracking_events_identity"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # found by shipment through the identity's leading column (no index of its own: one less written per event)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id", ondelete="CASCADE"))
    occurred_at: Mapped[datetime]
    code: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(Text)
    detail: Mapped[str | None] = mapped_column(Text)
    location: Mapped[str | None] = mapped_column(String(200))
    pickup_deadline: Mapped[datetime | None]
    known_code: Mapped[bool] = mapped_column(Boolean, default=True)
    voided: Mapped[bool] = mapped_column(Boolean, default=False)
    raw: Mapped[dict[str, Any]]
    recorded_at: Mapped[datetime]


# Core handles for the bulk paths (executemany INSERT/UPDATE), typed as tables.
accounts_table = cast(Table, CarrierAccount.__table__)
shipments_table = cast(Table, Shipment.__table__)
events_table = cast(Table, TrackingEvent.__table__)
