"""reports polls news

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 22:40:16.548473
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "news",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("text_es", sa.Text(), nullable=False),
        sa.Column("text_ay", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("target", sa.String(length=400), nullable=False),
        sa.Column("citywide", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_news")),
    )
    with op.batch_alter_table("news", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_news_created_at"), ["created_at"], unique=False)

    op.create_table(
        "news_zones",
        sa.Column("news_id", sa.Integer(), nullable=False),
        sa.Column("zone_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["news_id"], ["news.id"], name=op.f("fk_news_zones_news_id_news"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["zone_id"], ["zones.id"], name=op.f("fk_news_zones_zone_id_zones")
        ),
        sa.PrimaryKeyConstraint("news_id", "zone_id", name=op.f("pk_news_zones")),
    )
    with op.batch_alter_table("news_zones", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_news_zones_zone_id"), ["zone_id"], unique=False)

    op.create_table(
        "polls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("question_es", sa.Text(), nullable=False),
        sa.Column("question_ay", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closes_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("target", sa.String(length=400), nullable=False),
        sa.Column("citywide", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["residents.id"],
            name=op.f("fk_polls_created_by_residents"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_polls")),
    )
    with op.batch_alter_table("polls", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_polls_closes_at"), ["closes_at"], unique=False)

    op.create_table(
        "reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=12), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=True),
        sa.Column("zone_id", sa.Integer(), nullable=True),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("location", sa.Text(), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("media_url", sa.Text(), nullable=True),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("followup_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("followup_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["resident_id"],
            ["residents.id"],
            name=op.f("fk_reports_resident_id_residents"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(["zone_id"], ["zones.id"], name=op.f("fk_reports_zone_id_zones")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reports")),
        sa.UniqueConstraint("code", name=op.f("uq_reports_code")),
    )
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_reports_followup_due_at"), ["followup_due_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_reports_resident_id"), ["resident_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_reports_status"), ["status"], unique=False)
        batch_op.create_index(
            "ix_reports_zone_category_status", ["zone_id", "category", "status"], unique=False
        )

    op.create_table(
        "poll_options",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("poll_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("label_es", sa.String(length=200), nullable=False),
        sa.Column("label_ay", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["poll_id"],
            ["polls.id"],
            name=op.f("fk_poll_options_poll_id_polls"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_poll_options")),
        sa.UniqueConstraint("poll_id", "position", name=op.f("uq_poll_options_poll_id")),
    )
    op.create_table(
        "poll_zones",
        sa.Column("poll_id", sa.Integer(), nullable=False),
        sa.Column("zone_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["poll_id"], ["polls.id"], name=op.f("fk_poll_zones_poll_id_polls"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["zone_id"], ["zones.id"], name=op.f("fk_poll_zones_zone_id_zones")
        ),
        sa.PrimaryKeyConstraint("poll_id", "zone_id", name=op.f("pk_poll_zones")),
    )
    with op.batch_alter_table("poll_zones", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_poll_zones_zone_id"), ["zone_id"], unique=False)

    op.create_table(
        "report_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["reports.id"],
            name=op.f("fk_report_events_report_id_reports"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_events")),
    )
    with op.batch_alter_table("report_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_report_events_report_id"), ["report_id"], unique=False)

    op.create_table(
        "report_supporters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["reports.id"],
            name=op.f("fk_report_supporters_report_id_reports"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"],
            ["residents.id"],
            name=op.f("fk_report_supporters_resident_id_residents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_supporters")),
        sa.UniqueConstraint(
            "report_id", "resident_id", name=op.f("uq_report_supporters_report_id")
        ),
    )
    with op.batch_alter_table("report_supporters", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_report_supporters_resident_id"), ["resident_id"], unique=False
        )

    op.create_table(
        "votes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("poll_id", sa.Integer(), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("option_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["option_id"],
            ["poll_options.id"],
            name=op.f("fk_votes_option_id_poll_options"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["poll_id"], ["polls.id"], name=op.f("fk_votes_poll_id_polls"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"],
            ["residents.id"],
            name=op.f("fk_votes_resident_id_residents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_votes")),
        sa.UniqueConstraint("poll_id", "resident_id", name=op.f("uq_votes_poll_id")),
    )
    with op.batch_alter_table("votes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_votes_resident_id"), ["resident_id"], unique=False)

    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expect", sa.JSON(), nullable=True))


def downgrade() -> None:

    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_column("expect")

    with op.batch_alter_table("votes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_votes_resident_id"))

    op.drop_table("votes")
    with op.batch_alter_table("report_supporters", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_supporters_resident_id"))

    op.drop_table("report_supporters")
    with op.batch_alter_table("report_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_events_report_id"))

    op.drop_table("report_events")
    with op.batch_alter_table("poll_zones", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_poll_zones_zone_id"))

    op.drop_table("poll_zones")
    op.drop_table("poll_options")
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.drop_index("ix_reports_zone_category_status")
        batch_op.drop_index(batch_op.f("ix_reports_status"))
        batch_op.drop_index(batch_op.f("ix_reports_resident_id"))
        batch_op.drop_index(batch_op.f("ix_reports_followup_due_at"))

    op.drop_table("reports")
    with op.batch_alter_table("polls", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_polls_closes_at"))

    op.drop_table("polls")
    with op.batch_alter_table("news_zones", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_news_zones_zone_id"))

    op.drop_table("news_zones")
    with op.batch_alter_table("news", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_news_created_at"))

    op.drop_table("news")
