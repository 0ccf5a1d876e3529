"""Zona information (INFO) with the emergency numbers for every zona; neighbours' services

info_items: one fact per row (health post, school, market days...), for a zona, a macrodistrito
(its subalcaldía) or the whole city, in both languages, with the day it was last checked so
stale items can be listed. The emergency numbers (police 110, fire 119, ambulance 118) are
seeded as city-wide items, so every zona has them from the start.

service_offers: one offer per resident (OFREZCO), with the moment they consented to share their
phone, until expires_at (renewed by SMS) unless paused; offer_reports: one report per neighbour
and offer, three hide it from searches (BUSCO).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 18:30:00
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

EMERGENCY = (
    ("Policía (Radio Patrulla): 110", "Policía (Radio Patrulla): 110"),
    ("Bomberos: 119", "Bomberos: 119"),
    ("Ambulancia (SAME): 118", "Ambulancia (SAME): 118"),
)


def upgrade() -> None:
    info_items = op.create_table(
        "info_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("zone_id", sa.Integer(), nullable=True),
        sa.Column("macrodistrict_id", sa.Integer(), nullable=True),
        sa.Column("text_es", sa.Text(), nullable=False),
        sa.Column("text_ay", sa.Text(), nullable=True),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["zone_id"], ["zones.id"], name=op.f("fk_info_items_zone_id_zones"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["macrodistrict_id"],
            ["macrodistricts.id"],
            name=op.f("fk_info_items_macrodistrict_id_macrodistricts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_info_items")),
    )
    op.create_index(op.f("ix_info_items_category"), "info_items", ["category"], unique=False)
    op.create_index(op.f("ix_info_items_zone_id"), "info_items", ["zone_id"], unique=False)
    op.create_index(
        op.f("ix_info_items_macrodistrict_id"), "info_items", ["macrodistrict_id"], unique=False
    )
    op.create_index(op.f("ix_info_items_checked_at"), "info_items", ["checked_at"], unique=False)
    now = datetime.now(UTC)
    op.bulk_insert(
        info_items,
        [
            {
                "category": "emergency",
                "zone_id": None,
                "macrodistrict_id": None,
                "text_es": es,
                "text_ay": ay,
                "checked_at": now,
                "created_at": now,
            }
            for es, ay in EMERGENCY
        ],
    )

    op.create_table(
        "service_offers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("zone_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("text", sa.String(length=80), nullable=False),
        sa.Column("consent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("paused", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.ForeignKeyConstraint(
            ["resident_id"],
            ["residents.id"],
            name=op.f("fk_service_offers_resident_id_residents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["zone_id"], ["zones.id"], name=op.f("fk_service_offers_zone_id_zones")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_offers")),
        sa.UniqueConstraint("resident_id", name=op.f("uq_service_offers_resident_id")),
    )
    op.create_index(
        op.f("ix_service_offers_category"), "service_offers", ["category"], unique=False
    )
    op.create_index(op.f("ix_service_offers_zone_id"), "service_offers", ["zone_id"], unique=False)
    op.create_index(
        op.f("ix_service_offers_expires_at"), "service_offers", ["expires_at"], unique=False
    )
    op.create_table(
        "offer_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("offer_id", sa.Integer(), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["offer_id"],
            ["service_offers.id"],
            name=op.f("fk_offer_reports_offer_id_service_offers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"],
            ["residents.id"],
            name=op.f("fk_offer_reports_resident_id_residents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offer_reports")),
        sa.UniqueConstraint("offer_id", "resident_id", name=op.f("uq_offer_reports_offer_id")),
    )
    op.create_index(op.f("ix_offer_reports_offer_id"), "offer_reports", ["offer_id"], unique=False)
    op.create_index(
        op.f("ix_offer_reports_resident_id"), "offer_reports", ["resident_id"], unique=False
    )


def downgrade() -> None:
    op.drop_table("offer_reports")
    op.drop_table("service_offers")
    op.drop_index(op.f("ix_info_items_checked_at"), table_name="info_items")
    op.drop_index(op.f("ix_info_items_macrodistrict_id"), table_name="info_items")
    op.drop_index(op.f("ix_info_items_zone_id"), table_name="info_items")
    op.drop_index(op.f("ix_info_items_category"), table_name="info_items")
    op.drop_table("info_items")
