"""fewer index writes per poll: a claim changes only ``poll_leased_until``, which no index holds; events have
no index of their own on ``shipment_id``; a queued notification is not in the index of sent ones

A claim used to move ``next_poll_at`` (the due index's key) and ``poll_leased_until`` (its own partial index),
so every claimed shipment's row was written anew into each of the table's indexes, and again when its answer was
stored. Now a claim sets only ``poll_leased_until``: PostgreSQL updates such a row in place on its page (a
heap-only update, no index entry), given room on the page, which the table's fill factor keeps (new pages 85%
full). A lease is found through the due index instead: a leased shipment was due when it was claimed.

``ix_tracking_events_shipment_id`` repeated the leading column of the events' identity (shipment, time, code),
which serves every look-up by shipment (and the cascade from a deleted shipment): each new event wrote both.
``ix_notifications_sent_at`` serves the rollups' "sent since": it now holds only sent messages.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 18:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LEASED = "poll_leased_until IS NOT NULL"
SENT = "sent_at IS NOT NULL"


def _where(condition: str) -> dict[str, sa.TextClause]:
    return {'postgresql_where': sa.text(condition), 'sqlite_where': sa.text(condition)}


def upgrade() -> None:
    op.drop_index('ix_shipments_poll_leased', 'shipments')
    op.drop_index('ix_tracking_events_shipment_id', 'tracking_events')
    op.drop_index('ix_notifications_sent_at', 'notifications')
    op.create_index('ix_notifications_sent_at', 'notifications', ['sent_at'], **_where(SENT))
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("ALTER TABLE shipments SET (fillfactor = 85)")


def downgrade() -> None:
    op.drop_index('ix_notifications_sent_at', 'notifications')
    op.create_index('ix_notifications_sent_at', 'notifications', ['sent_at'])
    op.create_index('ix_tracking_events_shipment_id', 'tracking_events', ['shipment_id'])
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("ALTER TABLE shipments RESET (fillfactor)")
    op.create_index(
        'ix_shipments_poll_leased',
        'shipments',
        ['poll_leased_until'],
        **_where(LEASED),
    )
