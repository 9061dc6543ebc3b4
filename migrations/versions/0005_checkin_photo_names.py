"""check-in photos: kept by their name under the uploads folder, not by a server path

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 01:50:00.000000
"""

from collections.abc import Sequence
from pathlib import PurePath

import sqlalchemy as sa
from alembic import op


revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

checkins = sa.table('delivery_checkins', sa.column('id'), sa.column('photo_path'), sa.column('incident_id'))
incidents = sa.table('incidents', sa.column('id'), sa.column('evidence', sa.JSON()))


def upgrade() -> None:
    """Rows written before kept the absolute path: keep its last part, in the check-in and in the incident's
    evidence (only check-ins with a photo are read)."""
    conn = op.get_bind()
    query = sa.select(checkins.c.id, checkins.c.photo_path, checkins.c.incident_id).where(
        checkins.c.photo_path.is_not(None)
    )
    for row in conn.execute(query).all():
        name = PurePath(row.photo_path).name
        conn.execute(sa.update(checkins).where(checkins.c.id == row.id).values(photo_path=name))
        if row.incident_id is None:
            continue
        evidence = conn.execute(sa.select(incidents.c.evidence).where(incidents.c.id == row.incident_id)).scalar()
        said = evidence.get('checkin') if isinstance(evidence, dict) else None
        if isinstance(said, dict) and said.get('photo'):
            said['photo'] = PurePath(said['photo']).name
            conn.execute(sa.update(incidents).where(incidents.c.id == row.incident_id).values(evidence=evidence))


def downgrade() -> None:
    """Names stay names: the uploads folder they live in is the settings' to tell."""
