"""Each resident's zona over time, so evidence for the past counts them where they lived then

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 18:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "resident_zone_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("zone_id", sa.Integer(), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["resident_id"],
            ["residents.id"],
            name=op.f("fk_resident_zone_history_resident_id_residents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["zone_id"], ["zones.id"], name=op.f("fk_resident_zone_history_zone_id_zones")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resident_zone_history")),
    )
    op.create_index(
        "ix_resident_zone_history_resident_since",
        "resident_zone_history",
        ["resident_id", "since"],
    )
    op.create_index(op.f("ix_resident_zone_history_zone_id"), "resident_zone_history", ["zone_id"])
    # Residents from before the history: the zona they have now, since they first wrote.
    # (Earlier moves are unknown; their past is counted in today's zona.)
    op.execute(
        "INSERT INTO resident_zone_history (resident_id, zone_id, since) "
        "SELECT id, zone_id, created_at FROM residents WHERE zone_id IS NOT NULL"
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_resident_zone_history_zone_id"), table_name="resident_zone_history")
    op.drop_index("ix_resident_zone_history_resident_since", table_name="resident_zone_history")
    op.drop_table("resident_zone_history")
