"""The migrations build exactly the schema the models describe (no drift either way)."""

from __future__ import annotations

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
