"""The migrations build exactly the schema the models describe (no drift either way)."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from storage.db import make_engine
from storage.migrate import upgrade
from storage.models import Base
from tests.conftest import BACKENDS


def test_the_migrated_database_matches_the_models(db_url: str) -> None:
    upgrade(db_url)  # already at head: a no-op that must not fail
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            differences = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert differences == []


@pytest.mark.parametrize("db_url", [b for b in BACKENDS if b == "postgresql"], indirect=True)
def test_each_text_updates_its_rows_in_place_on_postgresql(db_url: str) -> None:
    """Room on every page of the two rows a text rewrites, so the update is HOT (no index
    entries). PostgreSQL only: SQLite has no such setting."""
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            options = dict(
                conn.execute(
                    text(
                        "SELECT relname, reloptions FROM pg_class "
                        "WHERE relname IN ('residents', 'conversations')"
                    )
                ).all()
            )
    finally:
        engine.dispose()
    assert options == {"residents": ["fillfactor=80"], "conversations": ["fillfactor=80"]}


@pytest.mark.parametrize("edited", [False, True])
def test_the_three_emergency_items_become_one_keeping_the_oldest_check(
    tmp_path: Path, edited: bool
) -> None:
    """A database from before 0019 has police, fire and ambulance as three items: after it,
    one item has the three numbers, checked on the oldest of their days; an item staff edited
    meanwhile stops the merge (theirs to decide)."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0018")
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE info_items SET checked_at = '2026-01-02 12:00:00.000000'"))
            conn.execute(
                text("UPDATE info_items SET checked_at = '2025-07-01 12:00:00.000000' WHERE id = 3")
            )
            if edited:
                conn.execute(
                    text("UPDATE info_items SET text_es = 'Bomberos: 119 o 911' WHERE id = 2")
                )
        upgrade(url)
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT text_es, text_ay, checked_at FROM info_items ORDER BY id")
            ).all()
    finally:
        engine.dispose()
    if edited:
        assert len(rows) == 3
        return
    assert len(rows) == 1
    text_es, text_ay, checked = rows[0]
    assert text_es == text_ay == "Policía (Radio Patrulla) 110, Bomberos 119, Ambulancia (SAME) 118"
    assert str(checked).startswith("2025-07-01")
