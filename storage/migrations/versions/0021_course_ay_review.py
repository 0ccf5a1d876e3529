"""A course's Aymara texts carry a review mark

courses.ay_draft: the Aymara texts are a draft that awaits a native speaker's review (residents
still get them, better than nothing). The console and `mibarrio course list` show it; a course
import that says `ay_reviewed: true` clears it. Courses already there are drafts: the starter
courses' Aymara is.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06 03:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN: a batch copy of courses would drop a table other rows point at.
    op.add_column(
        "courses",
        sa.Column("ay_draft", sa.Boolean(), server_default=sa.true(), nullable=False),
    )


def downgrade() -> None:
    with op.batch_alter_table("courses") as batch:
        batch.drop_column("ay_draft")
