"""Tables of the carriers' push door: every push received (its body encrypted, once) and the parts of pushes
about shipments Zelo does not know yet, parked until the ERP sends them."""

from datetime import datetime
from typing import cast

from sqlalchemy import ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from tracker.models import Base, BigId


class CarrierPush(Base):
    """One push as received, stored before it is answered. ``body`` is the raw body sealed with the vault (a push
    can name the customer); ``body_sha256`` recognises a replay, which changes nothing. ``applied_at`` is set in
    the transaction that stores what the push says (pending pushes have none)."""

    __tablename__ = "carrier_pushes"
    __table_args__ = (
        UniqueConstraint("carrier", "body_sha256", name="uq_carrier_pushes_body"),
        Index(
            "ix_carrier_pushes_pending",
            "id",
            postgresql_where=text("applied_at IS NULL"),
            sqlite_where=text("applied_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    carrier: Mapped[str] = mapped_column(String(32))
    carrier_account_id: Mapped[int] = mapped_column(ForeignKey("carrier_accounts.id", ondelete="CASCADE"))
    body_sha256: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    results: Mapped[int] = mapped_column(Integer)  # shipments the push speaks of
    received_at: Mapped[datetime] = mapped_column(index=True)
    applied_at: Mapped[datetime | None]
    parked: Mapped[int] = mapped_column(Integer, default=0)  # of its shipments, how many Zelo did not know
    error: Mapped[str | None] = mapped_column(Text)  # why it could not be applied (it is not retried)


class ParkedPush(Base):
    """A tracking code a push spoke of before the ERP sent its shipment (of that carrier account): matched, and the
    push applied to it, when the shipment arrives; forgotten after ``tracker.pushes.tasks.PARKED_KEPT``."""

    __tablename__ = "parked_pushes"
    __table_args__ = (Index("ix_parked_pushes_code", "carrier", "tracking_code"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    push_id: Mapped[int] = mapped_column(ForeignKey("carrier_pushes.id", ondelete="CASCADE"), index=True)
    carrier: Mapped[str] = mapped_column(String(32))
    carrier_account_id: Mapped[int] = mapped_column(ForeignKey("carrier_accounts.id", ondelete="CASCADE"))
    tracking_code: Mapped[str] = mapped_column(String(64))
    parked_at: Mapped[datetime] = mapped_column(index=True)


pushes_table = cast(Table, CarrierPush.__table__)
parked_table = cast(Table, ParkedPush.__table__)
