"""residents, conversations: leave room on each page for HOT updates (PostgreSQL)

Every text rewrites its sender's resident and conversation rows. With full pages PostgreSQL
writes the new row version elsewhere and adds an entry to every index of the table; with free
space on the page and no indexed column changed, the update stays on the page (HOT) and no
index is touched. Applies to pages written from now on. SQLite has no such setting.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 04:20:00
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TABLES = ("residents", "conversations")
FILLFACTOR = 80


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} SET (fillfactor = {FILLFACTOR})")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} RESET (fillfactor)")
