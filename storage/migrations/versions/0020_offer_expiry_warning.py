"""When an offerer was told their offer is about to end, and a leader that it was hidden

service_offers.expiry_warned_at: the SMS some days before an offer's end saying when it ends
and how to renew it (OFREZCO, 1); cleared when the offer is renewed, so one per period.
service_offers.hidden_told_at: the SMS telling the zona's leaders that reports hid the offer;
cleared when it is shown again, so one per hiding.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 03:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A nullable column added in place works on SQLite and PostgreSQL alike.
    op.add_column("service_offers", sa.Column("expiry_warned_at", sa.DateTime(timezone=True)))
    op.add_column("service_offers", sa.Column("hidden_told_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    with op.batch_alter_table("service_offers") as batch:
        batch.drop_column("hidden_told_at")
        batch.drop_column("expiry_warned_at")
