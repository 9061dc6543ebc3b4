"""sweep indexes: the detector's sweep reads only active shipments, through partial indexes

The two full indexes on (status, last_event_at) and (status, original_promise_date) become partial ones on
the statuses the sweep asks about (most rows are delivered and were indexed for nothing), and the sweep's
``not_posted`` and ``awaiting_pickup`` queries get partial indexes of their own (they scanned every pending
or awaiting row's heap).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SILENCE = "status IN ('posted', 'in_transit', 'out_for_delivery', 'delivery_failed', 'returning')"
PROMISE = "status IN ('posted', 'in_transit', 'out_for_delivery', 'held')"
PENDING = "status = 'pending'"
PICKUP = "status = 'awaiting_pickup'"


def _where(condition: str) -> dict[str, sa.TextClause]:
    return {'postgresql_where': sa.text(condition), 'sqlite_where': sa.text(condition)}


def upgrade() -> None:
    op.drop_index('ix_shipments_status_last_event', 'shipments')
    op.drop_index('ix_shipments_status_promise', 'shipments')
    op.create_index('ix_shipments_sweep_silence', 'shipments', ['status', 'last_event_at'], **_where(SILENCE))
    op.create_index('ix_shipments_sweep_promise', 'shipments', ['status', 'original_promise_date'], **_where(PROMISE))
    op.create_index(
        'ix_shipments_sweep_pending', 'shipments', [sa.text('coalesce(shipped_at, created_at)')], **_where(PENDING)
    )
    op.create_index('ix_shipments_sweep_pickup', 'shipments', ['pickup_deadline'], **_where(PICKUP))


def downgrade() -> None:
    op.drop_index('ix_shipments_sweep_pickup', 'shipments')
    op.drop_index('ix_shipments_sweep_pending', 'shipments')
    op.drop_index('ix_shipments_sweep_promise', 'shipments')
    op.drop_index('ix_shipments_sweep_silence', 'shipments')
    op.create_index('ix_shipments_status_promise', 'shipments', ['status', 'original_promise_date'])
    op.create_index('ix_shipments_status_last_event', 'shipments', ['status', 'last_event_at'])
