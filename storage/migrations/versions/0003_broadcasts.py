"""broadcasts, deliveries, leaders; residents.number_invalid_at

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 22:54:21.767585
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "leaders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("zone_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["zone_id"], ["zones.id"], name=op.f("fk_leaders_zone_id_zones")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_leaders")),
        sa.UniqueConstraint("phone", name=op.f("uq_leaders_phone")),
    )
    with op.batch_alter_table("leaders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_leaders_zone_id"), ["zone_id"], unique=False)

    op.create_table(
        "broadcasts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("text_es", sa.Text(), nullable=False),
        sa.Column("text_ay", sa.Text(), nullable=True),
        sa.Column("poll_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("send_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("prepared_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("target", sa.String(length=400), nullable=False),
        sa.Column("citywide", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["residents.id"],
            name=op.f("fk_broadcasts_created_by_residents"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["poll_id"], ["polls.id"], name=op.f("fk_broadcasts_poll_id_polls"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_broadcasts")),
    )
    with op.batch_alter_table("broadcasts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_broadcasts_status"), ["status"], unique=False)

    op.create_table(
        "broadcast_zones",
        sa.Column("broadcast_id", sa.Integer(), nullable=False),
        sa.Column("zone_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["broadcast_id"],
            ["broadcasts.id"],
            name=op.f("fk_broadcast_zones_broadcast_id_broadcasts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["zone_id"], ["zones.id"], name=op.f("fk_broadcast_zones_zone_id_zones")
        ),
        sa.PrimaryKeyConstraint("broadcast_id", "zone_id", name=op.f("pk_broadcast_zones")),
    )
    with op.batch_alter_table("broadcast_zones", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_broadcast_zones_zone_id"), ["zone_id"], unique=False)

    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("broadcast_id", sa.Integer(), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=True),
        sa.Column("twilio_sid", sa.String(length=64), nullable=True),
        sa.Column("error_code", sa.Integer(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("segments", sa.Integer(), nullable=True),
        sa.Column("retry_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_by", sa.String(length=80), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["broadcast_id"],
            ["broadcasts.id"],
            name=op.f("fk_deliveries_broadcast_id_broadcasts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"],
            ["residents.id"],
            name=op.f("fk_deliveries_resident_id_residents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
        sa.UniqueConstraint("broadcast_id", "resident_id", name=op.f("uq_deliveries_broadcast_id")),
        sa.UniqueConstraint("twilio_sid", name=op.f("uq_deliveries_twilio_sid")),
    )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_deliveries_broadcast_status", ["broadcast_id", "status"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_deliveries_resident_id"), ["resident_id"], unique=False
        )

    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("number_invalid_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.drop_column("number_invalid_at")

    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deliveries_resident_id"))
        batch_op.drop_index("ix_deliveries_broadcast_status")

    op.drop_table("deliveries")
    with op.batch_alter_table("broadcast_zones", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_broadcast_zones_zone_id"))

    op.drop_table("broadcast_zones")
    with op.batch_alter_table("broadcasts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_broadcasts_status"))

    op.drop_table("broadcasts")
    with op.batch_alter_table("leaders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_leaders_zone_id"))

    op.drop_table("leaders")
