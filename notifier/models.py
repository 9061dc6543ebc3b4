"""Tables: the notification outbox, its delivery attempts, opt-outs and delivery check-ins."""

from datetime import datetime
from typing import Any, cast

from sqlalchemy import ForeignKey, Index, Integer, String, Table, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from tracker.models import Base, BigId


class Notification(Base):
    """One message to send, written in the same transaction as the change that triggers it. ``dedupe_key``
    is unique: a retried transaction or a second detector run can never queue the same message twice."""

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_due", "status", "due_at"),
        # what changed since the last rollup (tracker.metrics); a queued message is not in it, so queuing writes less
        Index(
            "ix_notifications_sent_at",
            "sent_at",
            postgresql_where=text("sent_at IS NOT NULL"),
            sqlite_where=text("sent_at IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id", ondelete="CASCADE"), index=True)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id", ondelete="SET NULL"))
    trigger: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    facts: Mapped[dict[str, Any]]  # what the message says (dates, incident evidence), frozen at trigger time
    created_at: Mapped[datetime]
    due_at: Mapped[datetime]  # not before (quiet hours, check-in delay, back-off); while sending: the lease
    handed_at: Mapped[datetime | None]  # when this try went to its channel (or the wa.me queue); unset: not yet
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[datetime | None]
    provider_id: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)  # why suppressed, failed or uncertain
    link: Mapped[str | None] = mapped_column(Text)  # wa_link: the wa.me link to click


class NotificationAttempt(Base):
    __tablename__ = "notification_attempts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("notifications.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime]
    outcome: Mapped[str] = mapped_column(String(16))  # sent | retry | failed | uncertain
    code: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[str | None] = mapped_column(Text)


class OptOut(Base):
    """A customer address that asked for no more messages (LGPD); kept as a keyed hash, never in clear."""

    __tablename__ = "notification_optouts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    address_hash: Mapped[str] = mapped_column(String(64), unique=True)
    channel: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime]


class Checkin(Base):
    """The customer's answer to the delivery check-in (one per shipment)."""

    __tablename__ = "delivery_checkins"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id", ondelete="CASCADE"), unique=True)
    answer: Mapped[str] = mapped_column(String(16))
    comment: Mapped[str | None] = mapped_column(Text)
    photo_path: Mapped[str | None] = mapped_column(String(300))
    answered_at: Mapped[datetime]
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id", ondelete="SET NULL"))


class Rating(Base):
    """The customer's rating of the delivery (1 bad to 5 great), given with the check-in's answer, if at all."""

    __tablename__ = "delivery_ratings"

    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id", ondelete="CASCADE"), primary_key=True)
    rating: Mapped[int] = mapped_column(Integer)
    rated_at: Mapped[datetime] = mapped_column(index=True)  # the rollups read what changed by it


notifications_table = cast(Table, Notification.__table__)
attempts_table = cast(Table, NotificationAttempt.__table__)
optouts_table = cast(Table, OptOut.__table__)
checkins_table = cast(Table, Checkin.__table__)
