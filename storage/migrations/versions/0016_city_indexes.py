"""Indexes for a city-sized console: the report queue in order, within a zona too

The queue lists the newest reports first (created_at, id), for the whole city or within a
zona; without an index each page sorted every report (200,000 in a year of La Paz).

Revision ID: 0016
Revises: 0011
Create Date: 2026-12-05 21:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_reports_created", "reports", ["created_at", "id"])
    op.create_index("ix_reports_zone_created", "reports", ["zone_id", "created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_reports_zone_created", table_name="reports")
    op.drop_index("ix_reports_created", table_name="reports")
