"""Signed-up residents per zona, language and topic, kept exact by triggers on residents

The console's home page, the API's stats, a poll's turnout and a broadcast's preview counted
the residents of their zonas on every view: a million rows for the city. audience_counts holds
those counts, changed in the same transaction as the resident (insert, update of a counted
column, delete), so they are never behind and never disagree between pages. topic '' counts
every active resident; a topic counts those a broadcast of it reaches (phone on record, not
marked invalid, topic wanted). zone_id 0: no zona; language '': not chosen.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05 23:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

COUNTED = "status, zone_id, language, topics, phone, number_invalid_at"

PG_FUNCTIONS = """
CREATE FUNCTION audience_counts_apply(r residents, delta integer) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO audience_counts AS a (zone_id, language, topic, residents)
    SELECT COALESCE(r.zone_id, 0), COALESCE(r.language, ''), t.topic, delta
    FROM (SELECT '' AS topic
          UNION
          SELECT value FROM json_array_elements_text(
              CASE WHEN json_typeof(r.topics::json) = 'array' THEN r.topics::json
                   ELSE '[]'::json END)
          WHERE r.phone IS NOT NULL AND r.number_invalid_at IS NULL) t
    WHERE r.status = 'active'
    ON CONFLICT (zone_id, language, topic)
    DO UPDATE SET residents = a.residents + EXCLUDED.residents
$$;
CREATE FUNCTION audience_counts_track() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN PERFORM audience_counts_apply(OLD, -1); END IF;
    IF TG_OP <> 'DELETE' THEN PERFORM audience_counts_apply(NEW, 1); END IF;
    RETURN NULL;
END
$$;
"""
PG_TRIGGERS = (
    "CREATE TRIGGER audience_counts_insert_delete AFTER INSERT OR DELETE ON residents"
    " FOR EACH ROW EXECUTE FUNCTION audience_counts_track()",
    f"CREATE TRIGGER audience_counts_update AFTER UPDATE OF {COUNTED} ON residents"
    " FOR EACH ROW WHEN (OLD.status = 'active' OR NEW.status = 'active')"
    " EXECUTE FUNCTION audience_counts_track()",
)
PG_BACKFILL = """
INSERT INTO audience_counts (zone_id, language, topic, residents)
SELECT COALESCE(r.zone_id, 0), COALESCE(r.language, ''), t.topic, count(*)
FROM residents r
CROSS JOIN LATERAL (
    SELECT '' AS topic
    UNION
    SELECT value FROM json_array_elements_text(
        CASE WHEN json_typeof(r.topics::json) = 'array' THEN r.topics::json ELSE '[]'::json END)
    WHERE r.phone IS NOT NULL AND r.number_invalid_at IS NULL) t
WHERE r.status = 'active'
GROUP BY 1, 2, 3
"""


def _sqlite_rows(row: str, delta: int) -> str:
    """The upsert adding `delta` for one row (NEW or OLD) of residents, in a SQLite trigger."""
    topics = (
        f"CASE WHEN json_valid({row}.topics) THEN CASE WHEN json_type({row}.topics) = 'array'"
        f" THEN {row}.topics ELSE '[]' END ELSE '[]' END"
    )
    return (
        "INSERT INTO audience_counts (zone_id, language, topic, residents)"
        f" SELECT COALESCE({row}.zone_id, 0), COALESCE({row}.language, ''), topic, {delta}"
        f" FROM (SELECT '' AS topic UNION SELECT value FROM json_each({topics})"
        f" WHERE {row}.phone IS NOT NULL AND {row}.number_invalid_at IS NULL)"
        f" WHERE {row}.status = 'active'"
        " ON CONFLICT (zone_id, language, topic)"
        " DO UPDATE SET residents = residents + excluded.residents;"
    )


SQLITE_TRIGGERS = (
    "CREATE TRIGGER audience_counts_insert AFTER INSERT ON residents"
    f" WHEN NEW.status = 'active' BEGIN {_sqlite_rows('NEW', 1)} END",
    "CREATE TRIGGER audience_counts_delete AFTER DELETE ON residents"
    f" WHEN OLD.status = 'active' BEGIN {_sqlite_rows('OLD', -1)} END",
    f"CREATE TRIGGER audience_counts_update AFTER UPDATE OF {COUNTED} ON residents"
    " WHEN OLD.status = 'active' OR NEW.status = 'active'"
    f" BEGIN {_sqlite_rows('OLD', -1)} {_sqlite_rows('NEW', 1)} END",
)
SQLITE_BACKFILL = """
INSERT INTO audience_counts (zone_id, language, topic, residents)
SELECT COALESCE(r.zone_id, 0), COALESCE(r.language, ''), t.topic, count(*)
FROM residents r
JOIN (SELECT r2.id AS id, '' AS topic FROM residents r2
      UNION
      SELECT r3.id, j.value FROM residents r3,
          json_each(CASE WHEN json_valid(r3.topics) THEN CASE WHEN json_type(r3.topics) = 'array'
                         THEN r3.topics ELSE '[]' END ELSE '[]' END) j
      WHERE r3.phone IS NOT NULL AND r3.number_invalid_at IS NULL) t ON t.id = r.id
WHERE r.status = 'active'
GROUP BY 1, 2, 3
"""


def upgrade() -> None:
    op.create_table(
        "audience_counts",
        sa.Column("zone_id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("topic", sa.String(20), nullable=False),
        sa.Column("residents", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("zone_id", "language", "topic", name=op.f("pk_audience_counts")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTIONS)
        for statement in PG_TRIGGERS:
            op.execute(statement)
        op.execute(PG_BACKFILL)
    else:
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)
        op.execute(SQLITE_BACKFILL)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audience_counts_update ON residents")
        op.execute("DROP TRIGGER audience_counts_insert_delete ON residents")
        op.execute("DROP FUNCTION audience_counts_track()")
        op.execute("DROP FUNCTION audience_counts_apply(residents, integer)")
    else:
        for name in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER audience_counts_{name}")
    op.drop_table("audience_counts")
