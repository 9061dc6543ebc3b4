"""Tables: incidents (ocorrências) and their history of changes."""

from datetime import datetime
from typing import Any, cast

from sqlalchemy import ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tracker.models import Base, BigId


class Incident(Base):
    """One kind of trouble on one shipment. Reopened, never duplicated: one row per (shipment, kind)."""

    __tablename__ = "incidents"
    __table_args__ = (
        UniqueConstraint("shipment_id", "kind", name="uq_incidents_shipment_kind"),
        Index("ix_incidents_status_kind", "status", "kind"),
        Index("ix_incidents_triage_due", "triage_due_at"),
        Index("ix_incidents_updated_at", "updated_at"),  # what changed since the last rollup (tracker.metrics)
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(16))
    owner: Mapped[str] = mapped_column(String(100))
    next_action: Mapped[str] = mapped_column(Text)
    trigger: Mapped[str] = mapped_column(String(200))  # the fact that raised it (see tracker.detector.rules)
    evidence: Mapped[dict[str, Any]]
    opened_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    triage_due_at: Mapped[datetime]  # SLA, in business hours of the destination state
    due_at: Mapped[datetime | None]  # a deadline of the parcel itself (pickup)
    triaged_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(32))
    root_cause: Mapped[str | None] = mapped_column(String(32))
    resolution_note: Mapped[str | None] = mapped_column(Text)
    resolved_by: Mapped[str | None] = mapped_column(String(100))
    reopened_count: Mapped[int] = mapped_column(Integer, default=0)


class IncidentChange(Base):
    """Every move of an incident, by the detector or a person: its audit trail."""

    __tablename__ = "incident_changes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(32))  # opened, escalated, reopened, resolved, triaged, ...
    from_status: Mapped[str | None] = mapped_column(String(32))
    to_status: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)


incidents_table = cast(Table, Incident.__table__)
changes_table = cast(Table, IncidentChange.__table__)
