"""held shipments: stored before their carrier account exists, not polled until it does

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('shipments', schema=None) as batch_op:
        batch_op.alter_column(
            'carrier_account_id', existing_type=sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True
        )
        batch_op.add_column(sa.Column('held_reason', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('requested_account', sa.String(length=100), nullable=True))
        batch_op.create_index(
            'ix_shipments_held',
            ['carrier'],
            unique=False,
            postgresql_where=sa.text('held_reason IS NOT NULL'),
            sqlite_where=sa.text('held_reason IS NOT NULL'),
        )


def downgrade() -> None:
    # a held shipment has no account to go back to: add its carrier's account first (that releases it)
    held = op.get_bind().execute(sa.text("SELECT count(*) FROM shipments WHERE carrier_account_id IS NULL")).scalar()
    if held:
        raise RuntimeError(f"{held} shipments are held without a carrier account: add their accounts first")
    with op.batch_alter_table('shipments', schema=None) as batch_op:
        batch_op.drop_index('ix_shipments_held')
        batch_op.drop_column('requested_account')
        batch_op.drop_column('held_reason')
        batch_op.alter_column(
            'carrier_account_id', existing_type=sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False
        )
