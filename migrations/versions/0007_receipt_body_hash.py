"""webhook receipts: a hash of the body each webhook-id was answered for

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 02:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # receipts stored before have none: their replays are answered from them as before, whatever the body
    with op.batch_alter_table('webhook_receipts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('body_hash', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('webhook_receipts', schema=None) as batch_op:
        batch_op.drop_column('body_hash')
