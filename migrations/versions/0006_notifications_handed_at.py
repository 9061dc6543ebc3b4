"""notifications: when a message was handed to its channel

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 02:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tracker.models


revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('handed_at', tracker.models.UTCDateTime(timezone=True), nullable=True))
    # what went out before counts toward today's cap as it will from now on: sent when sent, queued when queued
    op.execute("UPDATE notifications SET handed_at = sent_at WHERE status = 'sent'")
    op.execute("UPDATE notifications SET handed_at = due_at WHERE status = 'queued'")


def downgrade() -> None:
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_column('handed_at')
