"""Tables: the dashboard's people (hashed passwords, roles, lockout) and their sessions (hashed tokens); and
the indexes the dashboard's lists and searches read the feature tables by."""

from datetime import datetime
from typing import cast

from sqlalchemy import ForeignKey, Index, Integer, String, Table, func, text
from sqlalchemy.orm import Mapped, mapped_column

from claims import Claim
from notifier import Notification
from tracker.detector import Incident
from tracker.models import Base, BigId, Shipment


class DashboardUser(Base):
    __tablename__ = "dashboard_users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)  # stored lower-case
    password_hash: Mapped[str] = mapped_column(String(200))  # argon2id, with its parameters and salt
    role: Mapped[str] = mapped_column(String(16))  # viewer | ops | admin
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)  # since the last success or lockout
    locked_until: Mapped[datetime | None]
    created_at: Mapped[datetime]


class DashboardSession(Base):
    """A signed-in browser: the cookie's token is kept only as its SHA-256; the CSRF token every form carries."""

    __tablename__ = "dashboard_sessions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("dashboard_users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)


UNFILED = "status IN ('candidate', 'ready', 'filing')"  # claims.NOT_FILED (a test checks they agree)

# What the pages search and sort by (migration 0013): a search never scans shipments, a list never sorts a table.
SEARCH_INDEXES = (
    Index("ix_shipments_tracking_code", Shipment.tracking_code),
    Index("ix_shipments_order_number", Shipment.order_number),
    Index("ix_shipments_customer_email", func.lower(Shipment.customer_email)),
    # the open ones in deadline order, read in that order (a page is the first rows, never a sort of all)
    Index(
        "ix_incidents_open_due",
        Incident.triage_due_at,
        Incident.id,
        postgresql_where=text("status <> 'resolved'"),
        sqlite_where=text("status <> 'resolved'"),
    ),
    Index(
        "ix_claims_unfiled_closes",
        Claim.closes_at,
        Claim.id,
        postgresql_where=text(UNFILED),
        sqlite_where=text(UNFILED),
    ),
    Index("ix_notifications_channel_status", Notification.channel, Notification.status, Notification.id),
)

users_table = cast(Table, DashboardUser.__table__)
sessions_table = cast(Table, DashboardSession.__table__)
