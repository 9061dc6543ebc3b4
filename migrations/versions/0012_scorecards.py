"""scorecards: origin (per shipment and per account) and category dimensions, the delivery's rating; the daily
rollup tables

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tracker.models


revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY = ('day', 'carrier', 'service', 'origin_state', 'destination_state', 'category')


def _key() -> list[sa.Column]:
    return [
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('carrier', sa.String(length=32), nullable=False),
        sa.Column('service', sa.String(length=50), nullable=False),
        sa.Column('origin_state', sa.String(length=2), nullable=False),
        sa.Column('destination_state', sa.String(length=2), nullable=False),
        sa.Column('category', sa.String(length=50), nullable=False),
    ]


def _id() -> sa.Column:
    return sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False)


def upgrade() -> None:
    with op.batch_alter_table('carrier_accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('origin_postal_code', sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column('origin_state', sa.String(length=2), nullable=True))
    with op.batch_alter_table('shipments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('origin_postal_code', sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column('origin_state', sa.String(length=2), nullable=True))
        batch_op.add_column(sa.Column('category', sa.String(length=50), nullable=True))
        batch_op.add_column(sa.Column('rolled_day', sa.Date(), nullable=True))
    op.create_table('delivery_ratings',
    sa.Column('shipment_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('rating', sa.Integer(), nullable=False),
    sa.Column('rated_at', tracker.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['shipment_id'], ['shipments.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('shipment_id'),
    )
    op.create_index('ix_delivery_ratings_rated_at', 'delivery_ratings', ['rated_at'])
    op.create_index('ix_shipments_metrics_at', 'shipments', [sa.text('coalesce(shipped_at, created_at)')])
    op.create_index('ix_shipments_updated_at', 'shipments', ['updated_at'])
    # what changed since the last rollup (tracker.metrics.rollup)
    op.create_index('ix_incidents_updated_at', 'incidents', ['updated_at'])
    op.create_index('ix_claims_updated_at', 'claims', ['updated_at'])
    op.create_index('ix_notifications_sent_at', 'notifications', ['sent_at'])

    op.create_table('metrics_daily',
    _id(), *_key(),
    *(sa.Column(name, sa.Integer(), nullable=False) for name in (
        'shipments', 'delivered', 'first_attempt', 'judged_promise', 'on_time_promise', 'judged_deadline',
        'on_time_deadline', 'late_1', 'late_2_3', 'late_4_7', 'late_8_plus', 'notifications_sent', 'claims_filed',
        'claims_approved', 'claims_denied', 'claims_paid', 'rated', 'rating_sum')),
    sa.Column('amount_claimed', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('amount_recovered', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint(*KEY, name='uq_metrics_daily_key'),
    )
    op.create_index('ix_metrics_daily_day', 'metrics_daily', ['day'])
    op.create_table('metrics_incidents',
    _id(), *_key(),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('opened', sa.Integer(), nullable=False),
    sa.Column('resolved', sa.Integer(), nullable=False),
    sa.Column('tmr_hours', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint(*KEY, 'kind', name='uq_metrics_incidents_key'),
    )
    op.create_index('ix_metrics_incidents_day', 'metrics_incidents', ['day'])
    op.create_table('metrics_histograms',
    _id(), *_key(),
    sa.Column('measure', sa.String(length=16), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('bucket', sa.Integer(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint(*KEY, 'measure', 'kind', 'bucket', name='uq_metrics_histograms_key'),
    )
    op.create_index('ix_metrics_histograms_day', 'metrics_histograms', ['day'])
    op.create_table('metrics_state',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('at', tracker.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name'),
    )


def downgrade() -> None:
    op.drop_table('metrics_state')
    for table in ('metrics_histograms', 'metrics_incidents', 'metrics_daily'):
        op.drop_index(f'ix_{table}_day', table_name=table)
        op.drop_table(table)
    op.drop_index('ix_notifications_sent_at', table_name='notifications')
    op.drop_index('ix_claims_updated_at', table_name='claims')
    op.drop_index('ix_incidents_updated_at', table_name='incidents')
    op.drop_index('ix_shipments_updated_at', table_name='shipments')
    op.drop_index('ix_shipments_metrics_at', table_name='shipments')
    with op.batch_alter_table('shipments', schema=None) as batch_op:
        for name in ('rolled_day', 'category', 'origin_state', 'origin_postal_code'):
            batch_op.drop_column(name)
    op.drop_index('ix_delivery_ratings_rated_at', table_name='delivery_ratings')
    op.drop_table('delivery_ratings')
    with op.batch_alter_table('carrier_accounts', schema=None) as batch_op:
        batch_op.drop_column('origin_state')
        batch_op.drop_column('origin_postal_code')
