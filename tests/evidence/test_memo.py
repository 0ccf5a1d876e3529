"""Evidence figures are remembered until the rollups' next refresh, and only once built; the
worker computes the views most asked for with each refresh."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.config import Config
from bot.evidence import compare, memo
from bot.evidence import measures as figures
from bot.evidence.measures import CITY, date_range, local_midnight
from storage import rollups
from storage.db import transaction
from storage.models import EvidenceView, aware, utcnow
from storage.zones import macrodistricts
from tests.factories import add_residents
from worker import context
from worker.evidence import run_refresh


def test_a_question_is_answered_again_only_after_a_refresh(
    sessions: sessionmaker[Session],
) -> None:
    asked: list[int] = []

    def compute() -> dict[str, list[int]]:
        asked.append(1)
        return {"figures": [len(asked)]}

    with sessions() as session:
        # Not built: the event tables change with every text, so nothing is remembered.
        assert memo.remembered(session, ("q",), compute) == {"figures": [1]}
        assert memo.remembered(session, ("q",), compute) == {"figures": [2]}
    with transaction(sessions) as session:
        rollups.rebuild(session, datetime(2026, 12, 1, 12, tzinfo=UTC))
    with sessions() as session:
        first = memo.remembered(session, ("q",), compute)
        first["figures"].append(99)  # a caller's copy: changing it changes nothing kept
        assert memo.remembered(session, ("q",), compute) == {"figures": [3]}
        assert memo.remembered(session, ("other",), compute) == {"figures": [4]}
    with transaction(sessions) as session:
        rollups.refresh(session, datetime(2026, 12, 1, 12, 1, tzinfo=UTC))
    with sessions() as session:
        assert memo.remembered(session, ("q",), compute) == {"figures": [5]}
    assert len(asked) == 5


def test_the_worker_keeps_the_default_views_with_each_refresh(
    sessions: sessionmaker[Session], config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A first view after a refresh reads what the evidence worker computed with it: the
    default period for the city and each macrodistrito."""
    add_residents(sessions, 3)
    add_residents(sessions, 2, zone="San Pedro", language="ay")
    ctx = context.build(config)
    run_refresh(ctx, utcnow())
    first, last = date_range(None, None)
    start, end = local_midnight(first), local_midnight(last + timedelta(days=1))
    with sessions() as session:
        macros = [m.name for m in macrodistricts(session)]
        stored = session.scalars(select(EvidenceView)).all()
        assert len(stored) == 3 * (1 + len(macros))
        stamp = rollups.built_at(session)
        assert {aware(v.built_at) for v in stored} == {stamp}
        computed = figures.measures(session, CITY, start, end)
        centro = figures.place(session, macro=macros[0])
        centro_groups = compare.terciles(session, start, end, centro)
    assert computed["residents"]["signed_up"] == 5

    def not_again(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("computed again")

    monkeypatch.setattr(figures, "measures", not_again)
    monkeypatch.setattr(compare, "terciles", not_again)
    memo.forget()
    with sessions() as session:
        assert memo.measures(session, CITY, start, end) == computed
        assert memo.terciles(session, start, end, centro) == centro_groups
        with pytest.raises(AssertionError, match="computed again"):
            memo.measures(session, CITY, start + timedelta(days=1), end)  # not a default
    monkeypatch.undo()

    later = utcnow() + timedelta(minutes=1)
    run_refresh(ctx, later)
    with sessions() as session:
        stamps = {aware(v.built_at) for v in session.scalars(select(EvidenceView))}
        assert stamps == {rollups.built_at(session)} and stamps != {stamp}
