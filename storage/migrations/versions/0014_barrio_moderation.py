"""Offers a zona approves first, and when a leader was last told of stale zona information

zones.offers_moderated: the zona chose that a leader (or staff) approves each new offer before
neighbours see it; service_offers.pending: such an offer waiting for that approval.
leaders.info_reminded_at: the last SMS telling the leader how many of their zona's items are
due for a check (INFO EDITAR), so the sweeper sends at most one a week.

Revision ID: 0014
Revises: 0011
Create Date: 2026-12-05 20:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("zones") as batch:
        batch.add_column(
            sa.Column("offers_moderated", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    with op.batch_alter_table("service_offers") as batch:
        batch.add_column(
            sa.Column("pending", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    with op.batch_alter_table("leaders") as batch:
        batch.add_column(sa.Column("info_reminded_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("leaders") as batch:
        batch.drop_column("info_reminded_at")
    with op.batch_alter_table("service_offers") as batch:
        batch.drop_column("pending")
    with op.batch_alter_table("zones") as batch:
        batch.drop_column("offers_moderated")
