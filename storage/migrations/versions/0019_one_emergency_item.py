"""The city's emergency numbers in one information item instead of three

Residents found the ambulance only at the third SMS (1/3 police, 2/3 fire, 3/3 ambulance).
Where the three city-wide items seeded by 0011 are still as seeded, the first becomes the one
item with all three numbers, keeping the oldest "revisado el" day, and the other two go. Items
staff have edited since are left as they are.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 03:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

SEEDED = ("Policía (Radio Patrulla): 110", "Bomberos: 119", "Ambulancia (SAME): 118")
MERGED = "Policía (Radio Patrulla) 110, Bomberos 119, Ambulancia (SAME) 118"

items = sa.table(
    "info_items",
    sa.column("id", sa.Integer),
    sa.column("category", sa.String),
    sa.column("zone_id", sa.Integer),
    sa.column("macrodistrict_id", sa.Integer),
    sa.column("text_es", sa.Text),
    sa.column("text_ay", sa.Text),
    sa.column("checked_at", sa.DateTime(timezone=True)),
    sa.column("created_at", sa.DateTime(timezone=True)),
)
CITY_EMERGENCY = sa.and_(
    items.c.category == "emergency",
    items.c.zone_id.is_(None),
    items.c.macrodistrict_id.is_(None),
)


def upgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(items.c.id, items.c.text_es, items.c.text_ay, items.c.checked_at)
        .where(CITY_EMERGENCY, items.c.text_es.in_(SEEDED))
        .order_by(items.c.id)
    ).all()
    found = {row.text_es: row for row in rows if row.text_ay in (None, row.text_es)}
    if set(found) != set(SEEDED):
        return  # edited or removed by staff: theirs to merge
    keep = found[SEEDED[0]]
    checked = min(row.checked_at for row in found.values())
    bind.execute(
        items.update()
        .where(items.c.id == keep.id)
        .values(text_es=MERGED, text_ay=MERGED, checked_at=checked)
    )
    others = [row.id for text, row in found.items() if text != SEEDED[0]]
    bind.execute(items.delete().where(items.c.id.in_(others)))


def downgrade() -> None:
    bind = op.get_bind()
    row = bind.execute(
        sa.select(items.c.id, items.c.checked_at, items.c.created_at).where(
            CITY_EMERGENCY, items.c.text_es == MERGED
        )
    ).first()
    if row is None:
        return
    bind.execute(
        items.update().where(items.c.id == row.id).values(text_es=SEEDED[0], text_ay=SEEDED[0])
    )
    bind.execute(
        items.insert(),
        [
            {
                "category": "emergency",
                "zone_id": None,
                "macrodistrict_id": None,
                "text_es": text,
                "text_ay": text,
                "checked_at": row.checked_at,
                "created_at": row.created_at,
            }
            for text in SEEDED[1:]
        ],
    )
