"""Single messages are claimed like broadcast rows, and unknown sends are reconciled once

outbound_messages.claimed_at/claimed_by: who took a message to send it, so the sweeper can
tell a live worker's claim from a dead one's. outbound_messages.resent and deliveries.resent:
a send found neither sent nor failed after reconciliation goes out again once, not twice.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 17:05:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbound_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=80), nullable=True))
        batch_op.add_column(
            sa.Column("resent", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("resent", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_column("resent")
    with op.batch_alter_table("outbound_messages", schema=None) as batch_op:
        batch_op.drop_column("resent")
        batch_op.drop_column("claimed_by")
        batch_op.drop_column("claimed_at")
