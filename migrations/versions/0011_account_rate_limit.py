"""account rate limit: carrier_accounts.requests_per_second, overriding the carrier's limit

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('carrier_accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('requests_per_second', sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('carrier_accounts', schema=None) as batch_op:
        batch_op.drop_column('requests_per_second')
