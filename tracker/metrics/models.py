"""Rollup tables: one row per day × carrier × service × origin UF × destination UF × category (``''`` when not
known, so that the key is unique), plus incidents per kind and histograms (transit days, TMR hours)."""

from datetime import date, datetime
from decimal import Decimal
from typing import cast

from sqlalchemy import Date, Float, Integer, Numeric, String, Table, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tracker.models import Base, BigId

KEY = ("day", "carrier", "service", "origin_state", "destination_state", "category")


class _Key:
    day: Mapped[date] = mapped_column(Date, index=True)
    carrier: Mapped[str] = mapped_column(String(32))
    service: Mapped[str] = mapped_column(String(50))
    origin_state: Mapped[str] = mapped_column(String(2))
    destination_state: Mapped[str] = mapped_column(String(2))
    category: Mapped[str] = mapped_column(String(50))


class DailyMetrics(_Key, Base):
    """The shipments of one day (their ship date, see tracker.metrics.rollup) and what became of them."""

    __tablename__ = "metrics_daily"
    __table_args__ = (UniqueConstraint(*KEY, name="uq_metrics_daily_key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shipments: Mapped[int] = mapped_column(Integer)
    delivered: Mapped[int] = mapped_column(Integer)
    first_attempt: Mapped[int] = mapped_column(Integer)  # delivered with no failed attempt before
    judged_promise: Mapped[int] = mapped_column(Integer)  # reached a first attempt, with a store promise
    on_time_promise: Mapped[int] = mapped_column(Integer)
    judged_deadline: Mapped[int] = mapped_column(Integer)  # reached a first attempt, with a carrier deadline
    on_time_deadline: Mapped[int] = mapped_column(Integer)
    late_1: Mapped[int] = mapped_column(Integer)  # days late against the store's promise
    late_2_3: Mapped[int] = mapped_column(Integer)
    late_4_7: Mapped[int] = mapped_column(Integer)
    late_8_plus: Mapped[int] = mapped_column(Integer)
    notifications_sent: Mapped[int] = mapped_column(Integer)
    claims_filed: Mapped[int] = mapped_column(Integer)
    claims_approved: Mapped[int] = mapped_column(Integer)  # approved, partially approved or paid
    claims_denied: Mapped[int] = mapped_column(Integer)
    claims_paid: Mapped[int] = mapped_column(Integer)
    amount_claimed: Mapped[Decimal] = mapped_column(Numeric(14, 2))  # of the claims filed
    amount_recovered: Mapped[Decimal] = mapped_column(Numeric(14, 2))  # paid
    rated: Mapped[int] = mapped_column(Integer)  # check-ins that rated the delivery (1 to 5)
    rating_sum: Mapped[int] = mapped_column(Integer)


class IncidentMetrics(_Key, Base):
    __tablename__ = "metrics_incidents"
    __table_args__ = (UniqueConstraint(*KEY, "kind", name="uq_metrics_incidents_key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    opened: Mapped[int] = mapped_column(Integer)  # shipments with an incident of this kind
    resolved: Mapped[int] = mapped_column(Integer)
    tmr_hours: Mapped[float] = mapped_column(Float)  # the sum, over the resolved, of opened → resolved


class HistogramMetrics(_Key, Base):
    """``transit``: business days posted → delivered (kind ``''``); ``tmr``: whole hours opened → resolved, per
    incident kind. Counts per bucket add up across days and groups, so percentiles combine exactly."""

    __tablename__ = "metrics_histograms"
    __table_args__ = (UniqueConstraint(*KEY, "measure", "kind", "bucket", name="uq_metrics_histograms_key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    measure: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(32))
    bucket: Mapped[int] = mapped_column(Integer)
    count: Mapped[int] = mapped_column(Integer)


class MetricsState(Base):
    """``rolled_through``: changes up to this instant are in the rollups (see tracker.metrics.rollup)."""

    __tablename__ = "metrics_state"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    at: Mapped[datetime]


daily_table = cast(Table, DailyMetrics.__table__)
incidents_table = cast(Table, IncidentMetrics.__table__)
histograms_table = cast(Table, HistogramMetrics.__table__)
