"""poll leases: a claimed shipment records until when its poller holds it

``poll_leased_until`` is set when a poller claims a shipment and cleared when its answer (or its failure) is
stored, so a run that finds leases past their end reports them: a poller died or stalled holding them.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 14:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tracker.models


revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LEASED = "poll_leased_until IS NOT NULL"


def upgrade() -> None:
    op.add_column('shipments', sa.Column('poll_leased_until', tracker.models.UTCDateTime(timezone=True), nullable=True))
    op.create_index(
        'ix_shipments_poll_leased',
        'shipments',
        ['poll_leased_until'],
        postgresql_where=sa.text(LEASED),
        sqlite_where=sa.text(LEASED),
    )


def downgrade() -> None:
    op.drop_index('ix_shipments_poll_leased', 'shipments')
    op.drop_column('shipments', 'poll_leased_until')
