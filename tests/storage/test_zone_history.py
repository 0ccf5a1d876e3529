"""Migration 0010 gives residents from before it a zona history to count from."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from storage.db import make_engine
from storage.migrate import upgrade


def test_existing_residents_get_their_zona_from_when_they_first_wrote(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0009")
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text("INSERT INTO macrodistricts (id, name, position) VALUES (1, 'Centro', 0)")
            )
            conn.execute(
                text(
                    "INSERT INTO zones (id, name, macrodistrict_id, kind) "
                    "VALUES (7, 'Miraflores', 1, 'urbano')"
                )
            )
            for rid, zone in ((1, "7"), (2, "NULL")):
                conn.execute(text(
                    "INSERT INTO residents (id, phone, zone_id, status, topics, last_channel, "
                    f"synthetic, created_at) VALUES ({rid}, '+5917000000{rid}', {zone}, 'active', "
                    "'[]', 'sms', 0, '2026-10-01 12:00:00.000000')"
                ))  # fmt: skip
        upgrade(url)
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT resident_id, zone_id, since FROM resident_zone_history")
            ).all()
    finally:
        engine.dispose()
    assert [(r[0], r[1], str(r[2])[:19]) for r in rows] == [(1, 7, "2026-10-01 12:00:00")]
