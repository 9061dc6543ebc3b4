"""dashboard: its people and their sessions; indexes for the dashboard's searches and queues

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tracker.models


revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
When = tracker.models.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table('dashboard_users',
    sa.Column('id', BigId, nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('failed_attempts', sa.Integer(), nullable=False),
    sa.Column('locked_until', When, nullable=True),
    sa.Column('created_at', When, nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('email')
    )
    op.create_table('dashboard_sessions',
    sa.Column('id', BigId, nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', BigId, nullable=False),
    sa.Column('csrf_token', sa.String(length=64), nullable=False),
    sa.Column('created_at', When, nullable=False),
    sa.Column('expires_at', When, nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['dashboard_users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    op.create_index('ix_dashboard_sessions_user_id', 'dashboard_sessions', ['user_id'])
    op.create_index('ix_dashboard_sessions_expires_at', 'dashboard_sessions', ['expires_at'])
    op.create_index('ix_shipments_tracking_code', 'shipments', ['tracking_code'])
    op.create_index('ix_shipments_order_number', 'shipments', ['order_number'])
    op.create_index('ix_shipments_customer_email', 'shipments', [sa.text('lower(customer_email)')])
    op.create_index(
        'ix_incidents_open_due', 'incidents', ['triage_due_at', 'id'],
        postgresql_where=sa.text("status <> 'resolved'"), sqlite_where=sa.text("status <> 'resolved'"),
    )
    unfiled = sa.text("status IN ('candidate', 'ready', 'filing')")
    op.create_index(
        'ix_claims_unfiled_closes', 'claims', ['closes_at', 'id'], postgresql_where=unfiled, sqlite_where=unfiled
    )
    op.create_index('ix_notifications_channel_status', 'notifications', ['channel', 'status', 'id'])


def downgrade() -> None:
    op.drop_index('ix_notifications_channel_status', 'notifications')
    op.drop_index('ix_claims_unfiled_closes', 'claims')
    op.drop_index('ix_incidents_open_due', 'incidents')
    op.drop_index('ix_shipments_customer_email', 'shipments')
    op.drop_index('ix_shipments_order_number', 'shipments')
    op.drop_index('ix_shipments_tracking_code', 'shipments')
    op.drop_table('dashboard_sessions')
    op.drop_table('dashboard_users')
