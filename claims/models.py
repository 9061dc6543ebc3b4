"""Tables: claims, their history of changes, and every filing attempt with the carrier's answer."""

from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import ForeignKey, Index, Integer, Numeric, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tracker.models import Base, BigId

Money = Numeric(12, 2)


class Claim(Base):
    """One claim of one type on one shipment, ever (a second incident of the same type joins the first)."""

    __tablename__ = "claims"
    __table_args__ = (
        UniqueConstraint("shipment_id", "claim_type", name="uq_claims_shipment_type"),
        Index("ix_claims_status_closes", "status", "closes_at"),
        Index("ix_claims_protocol", "protocol"),
        Index("ix_claims_status_answer_due", "status", "answer_due_at"),
        Index("ix_claims_updated_at", "updated_at"),  # what changed since the last rollup (tracker.metrics)
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id", ondelete="CASCADE"))
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id", ondelete="SET NULL"))
    claim_type: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(32))  # the incident kind it came from
    carrier: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(32))
    motivo: Mapped[int] = mapped_column(Integer)
    manifestation: Mapped[str] = mapped_column(String(1))
    filer: Mapped[str] = mapped_column(String(32))
    filing: Mapped[str] = mapped_column(String(16))  # auto | approval
    approved_at: Mapped[datetime | None]
    approved_by: Mapped[str | None] = mapped_column(String(100))
    opens_at: Mapped[datetime]
    closes_at: Mapped[datetime]
    missing: Mapped[list[Any]]  # evidence still missing before it can be filed
    amount_claimed: Mapped[Decimal | None] = mapped_column(Money)
    amount_rule: Mapped[str] = mapped_column(Text)
    amount_approved: Mapped[Decimal | None] = mapped_column(Money)
    amount_paid: Mapped[Decimal | None] = mapped_column(Money)
    protocol: Mapped[str | None] = mapped_column(String(64))
    filed_at: Mapped[datetime | None]
    answer_due_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]
    answer_message: Mapped[str | None] = mapped_column(Text)
    paid_at: Mapped[datetime | None]
    refusal_code: Mapped[str | None] = mapped_column(String(16))
    refusal_reason: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]  # a filing that met a temporary fault waits until then
    reactivations: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ClaimChange(Base):
    """Every move of a claim, by Zelo or a person: its audit trail."""

    __tablename__ = "claim_changes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(32))
    to_status: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)


class ClaimFiling(Base):
    """One attempt to file (or reactivate, or follow) a claim with a filer, and what the carrier answered."""

    __tablename__ = "claim_filings"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime]
    filer: Mapped[str] = mapped_column(String(32))
    operation: Mapped[str] = mapped_column(String(16))  # file | reactivate
    outcome: Mapped[str] = mapped_column(String(16))  # filed | already_filed | refused | retry | fall_back
    protocol: Mapped[str | None] = mapped_column(String(64))
    code: Mapped[str | None] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)


claims_table = cast(Table, Claim.__table__)
claim_changes_table = cast(Table, ClaimChange.__table__)
claim_filings_table = cast(Table, ClaimFiling.__table__)
