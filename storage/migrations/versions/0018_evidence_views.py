"""Evidence figures computed by the worker at each rollup refresh, for the views most asked for

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 00:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "evidence_views",
        sa.Column("question", sa.String(64), nullable=False),
        sa.Column("built_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("question", name=op.f("pk_evidence_views")),
    )


def downgrade() -> None:
    op.drop_table("evidence_views")
