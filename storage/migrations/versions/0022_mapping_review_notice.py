"""leaders.mapping_told_at: the last SMS telling a leader that mapped items wait

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06 03:00:00

The sweeper tells a zona's leader when youth mappers' items start waiting for review (MAPEO
REVISAR), at most once a day, and only for items recorded after the last such SMS.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("leaders", sa.Column("mapping_told_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    # SQLite drops a column natively (3.35+); no table copy, so no foreign key is upset.
    op.drop_column("leaders", "mapping_told_at")
