"""Evidence rollups kept current by the worker, and exports built as worker jobs

evidence_daily (summable counts per day and zona), evidence_resident_days and evidence_active
(active residents without DISTINCT over a window), evidence_reports (one row per report: times
are not summable), evidence_broadcasts, evidence_opt_outs_after, evidence_polls, the marks of
how far they have read (evidence_marks, evidence_resident_marks), and evidence_exports.

Revision ID: 0015
Revises: 0011
Create Date: 2026-12-05 20:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "evidence_marks",
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.Column("at", TZ, nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_evidence_marks")),
    )
    op.create_table(
        "evidence_daily",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("zone_id", sa.Integer(), nullable=False),
        sa.Column("measure", sa.String(20), nullable=False),
        sa.Column("key", sa.String(20), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "zone_id", "measure", "key", name=op.f("pk_evidence_daily")),
    )
    op.create_table(
        "evidence_resident_days",
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("zone_id", sa.Integer(), nullable=False),
        sa.Column("macro_id", sa.Integer(), nullable=False),
        sa.Column("prev_zone", sa.Date(), nullable=True),
        sa.Column("prev_macro", sa.Date(), nullable=True),
        sa.Column("prev_city", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint(
            "resident_id", "channel", "day", "zone_id", name=op.f("pk_evidence_resident_days")
        ),
    )
    op.create_index("ix_evidence_resident_days_day", "evidence_resident_days", ["day"])
    op.create_table(
        "evidence_active",
        sa.Column("scope", sa.String(1), nullable=False),
        sa.Column("scope_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("prev", sa.Date(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "scope", "scope_id", "day", "channel", "prev", name=op.f("pk_evidence_active")
        ),
    )
    op.create_table(
        "evidence_reports",
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("zone_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("category", sa.String(20), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("first_change_hours", sa.Float(), nullable=True),
        sa.Column("resolution_hours", sa.Float(), nullable=True),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("reopened", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("report_id", name=op.f("pk_evidence_reports")),
    )
    op.create_index("ix_evidence_reports_day", "evidence_reports", ["day"])
    op.create_table(
        "evidence_broadcasts",
        sa.Column("broadcast_id", sa.Integer(), nullable=False),
        sa.Column("zone_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("delivered", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("broadcast_id", "zone_id", name=op.f("pk_evidence_broadcasts")),
    )
    op.create_index("ix_evidence_broadcasts_day", "evidence_broadcasts", ["day"])
    op.create_table(
        "evidence_opt_outs_after",
        sa.Column("broadcast_id", sa.Integer(), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("zone_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint(
            "broadcast_id", "resident_id", name=op.f("pk_evidence_opt_outs_after")
        ),
    )
    op.create_index("ix_evidence_opt_outs_after_day", "evidence_opt_outs_after", ["day"])
    op.create_table(
        "evidence_polls",
        sa.Column("poll_id", sa.Integer(), nullable=False),
        sa.Column("zone_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("invited", sa.Integer(), nullable=False),
        sa.Column("voted", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("poll_id", "zone_id", name=op.f("pk_evidence_polls")),
    )
    op.create_index("ix_evidence_polls_day", "evidence_polls", ["day"])
    op.create_table(
        "evidence_resident_marks",
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("consent_at", TZ, nullable=True),
        sa.Column("left_at", TZ, nullable=True),
        sa.Column("opted_out_at", TZ, nullable=True),
        sa.Column("language", sa.String(10), nullable=False),
        sa.PrimaryKeyConstraint("resident_id", name=op.f("pk_evidence_resident_marks")),
    )
    op.create_table(
        "evidence_exports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("format", sa.String(10), nullable=False),
        sa.Column("first", sa.Date(), nullable=False),
        sa.Column("last", sa.Date(), nullable=False),
        sa.Column("step", sa.String(10), nullable=False),
        sa.Column("free_text", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(400), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("finished_at", TZ, nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["staff_users.id"],
            name=op.f("fk_evidence_exports_user_id_staff_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence_exports")),
    )


def downgrade() -> None:
    for table in (
        "evidence_exports",
        "evidence_resident_marks",
        "evidence_polls",
        "evidence_opt_outs_after",
        "evidence_broadcasts",
        "evidence_reports",
        "evidence_active",
        "evidence_resident_days",
        "evidence_daily",
        "evidence_marks",
    ):
        op.drop_table(table)
