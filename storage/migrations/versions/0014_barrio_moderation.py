"""Offers a zona approves first, and when a leader was last told of stale zona information

zones.offers_moderated: the zona chose that a leader (or staff) approves each new offer before
neighbours see it; service_offers.pending: such an offer waiting for that approval.
leaders.info_reminded_at: the last SMS telling the leader how many of their zona's items are
due for a check (INFO EDITAR), so the sweeper sends at most one a week.
service_searches: one row per BUSCO search (zona, category, offers shown), no resident, for
the evidence pages' counts of searches and of searches that found something.

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
    op.create_table(
        "service_searches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("zone_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("results", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["zone_id"], ["zones.id"], name=op.f("fk_service_searches_zone_id_zones")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_searches")),
    )
    op.create_index(
        op.f("ix_service_searches_created_at"), "service_searches", ["created_at"], unique=False
    )
    op.create_index(
        op.f("ix_service_searches_zone_id"), "service_searches", ["zone_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_service_searches_zone_id"), table_name="service_searches")
    op.drop_index(op.f("ix_service_searches_created_at"), table_name="service_searches")
    op.drop_table("service_searches")
    with op.batch_alter_table("leaders") as batch:
        batch.drop_column("info_reminded_at")
    with op.batch_alter_table("service_offers") as batch:
        batch.drop_column("pending")
    with op.batch_alter_table("zones") as batch:
        batch.drop_column("offers_moderated")
