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
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN: a batch copy of zones would drop a table other rows point at.
    op.add_column(
        "zones",
        sa.Column("offers_moderated", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.add_column(
        "service_offers",
        sa.Column("pending", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.add_column("leaders", sa.Column("info_reminded_at", sa.DateTime(timezone=True)))
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
    # SQLite drops a column natively (3.35+); no table copy, so no foreign key is upset.
    op.drop_column("leaders", "info_reminded_at")
    op.drop_column("service_offers", "pending")
    op.drop_column("zones", "offers_moderated")
