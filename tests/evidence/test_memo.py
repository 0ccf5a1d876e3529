"""Evidence figures are remembered until the rollups' next refresh, and only once built."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from bot.evidence import memo
from storage import rollups
from storage.db import transaction


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
