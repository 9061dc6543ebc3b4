"""Tables of the ERP's door: webhook receipts (replays), idempotency keys, shipment revisions."""

from datetime import datetime
from typing import Any, cast

from sqlalchemy import ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tracker.models import Base, BigId


class WebhookReceipt(Base):
    """One accepted ``webhook-id``: a replay of the same body is answered with the stored response (kept ≥ 72 h);
    another body under that id is refused. ``body_hash`` is the SHA-256 of the raw body (hex; none on receipts
    stored before it was kept)."""

    __tablename__ = "webhook_receipts"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(index=True)
    response: Mapped[dict[str, Any]]
    body_hash: Mapped[str | None] = mapped_column(String(64))


class IdempotencyKey(Base):
    """``Idempotency-Key`` of a ``POST /v1/shipments``: same key and body → the same answer."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("api_key_id", "key", name="uq_idempotency_keys_key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(index=True)


class ShipmentRevision(Base):
    """What an upsert changed on a shipment, where it came from and when."""

    __tablename__ = "shipment_revisions"
    __table_args__ = (Index("ix_shipment_revisions_shipment", "shipment_id", "changed_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id", ondelete="CASCADE"))
    changed_at: Mapped[datetime]
    source: Mapped[str] = mapped_column(Text)  # webhook:<id> | api | csv:<file>
    changes: Mapped[dict[str, Any]]  # field → [old, new]


receipts_table = cast(Table, WebhookReceipt.__table__)
revisions_table = cast(Table, ShipmentRevision.__table__)
