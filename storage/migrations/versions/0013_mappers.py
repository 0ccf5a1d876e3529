"""Youth mappers: who may map a zona, what they recorded and how it was reviewed

mappers: one row per resident a leader or staff registered to map a zona (only the resident's
id: no more personal data than any resident gives). mapped_items: each asset or need recorded,
pending until a leader of the zona or staff approves or rejects it. An approved asset becomes
zona information (info_items.source = "mapeo"), an approved need a report (reports.mapped).

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-05 20:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mappers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("zone_id", sa.Integer(), nullable=False),
        sa.Column("registered_by", sa.String(length=80), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["resident_id"],
            ["residents.id"],
            name=op.f("fk_mappers_resident_id_residents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["zone_id"], ["zones.id"], name=op.f("fk_mappers_zone_id_zones")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mappers")),
        sa.UniqueConstraint("resident_id", name=op.f("uq_mappers_resident_id")),
    )
    op.create_index(op.f("ix_mappers_zone_id"), "mappers", ["zone_id"], unique=False)
    op.create_table(
        "mapped_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=True),
        sa.Column("zone_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("media_url", sa.Text(), nullable=True),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reviewer", sa.String(length=254), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("info_item_id", sa.Integer(), nullable=True),
        sa.Column("report_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["resident_id"],
            ["residents.id"],
            name=op.f("fk_mapped_items_resident_id_residents"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["zone_id"], ["zones.id"], name=op.f("fk_mapped_items_zone_id_zones")
        ),
        sa.ForeignKeyConstraint(
            ["info_item_id"],
            ["info_items.id"],
            name=op.f("fk_mapped_items_info_item_id_info_items"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["reports.id"],
            name=op.f("fk_mapped_items_report_id_reports"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mapped_items")),
    )
    op.create_index(
        op.f("ix_mapped_items_resident_id"), "mapped_items", ["resident_id"], unique=False
    )
    op.create_index(op.f("ix_mapped_items_status"), "mapped_items", ["status"], unique=False)
    op.create_index("ix_mapped_items_zone_status", "mapped_items", ["zone_id", "status"])
    with op.batch_alter_table("info_items") as batch:
        batch.add_column(sa.Column("source", sa.String(length=10), nullable=True))
    with op.batch_alter_table("reports") as batch:
        batch.add_column(
            sa.Column("mapped", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("reports") as batch:
        batch.drop_column("mapped")
    with op.batch_alter_table("info_items") as batch:
        batch.drop_column("source")
    op.drop_index("ix_mapped_items_zone_status", table_name="mapped_items")
    op.drop_index(op.f("ix_mapped_items_status"), table_name="mapped_items")
    op.drop_index(op.f("ix_mapped_items_resident_id"), table_name="mapped_items")
    op.drop_table("mapped_items")
    op.drop_index(op.f("ix_mappers_zone_id"), table_name="mappers")
    op.drop_table("mappers")
