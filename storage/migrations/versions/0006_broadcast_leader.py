"""broadcasts.leader_id: a leader's daily limit counts the leader, not a resident row

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 13:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("broadcasts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("leader_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_broadcasts_leader_id_leaders"),
            "leaders",
            ["leader_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_index(batch_op.f("ix_broadcasts_leader_id"), ["leader_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("broadcasts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_broadcasts_leader_id"))
        batch_op.drop_constraint(batch_op.f("fk_broadcasts_leader_id_leaders"), type_="foreignkey")
        batch_op.drop_column("leader_id")
