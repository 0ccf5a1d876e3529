"""The flood limit: one notice per window, and a phone's recent texts counted by an index

conversations.flood_noticed_at: when the phone was last told it writes too fast, so a flood
gets one notice per window and a bot answering every reply gets silence after it.
inbound_messages (resident_id, received_at) replaces the index on resident_id alone: the count
of a phone's texts within the window reads a range of it instead of the phone's whole history,
and it still serves the foreign key.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("flood_noticed_at", sa.DateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("inbound_messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_inbound_messages_resident_received", ["resident_id", "received_at"], unique=False
        )
        batch_op.drop_index(batch_op.f("ix_inbound_messages_resident_id"))


def downgrade() -> None:
    with op.batch_alter_table("inbound_messages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_inbound_messages_resident_id"), ["resident_id"], unique=False
        )
        batch_op.drop_index("ix_inbound_messages_resident_received")
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_column("flood_noticed_at")
