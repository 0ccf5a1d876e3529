"""Conversation.expect: the typed question we asked, read from and written as the stored JSON."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from storage.conversations import Expectation, ExpectKind

UNTIL = datetime(2026, 5, 2, tzinfo=UTC)


def test_the_stored_shape_is_unchanged() -> None:
    stored = {"kind": "poll", "id": 3, "until": "2026-05-02T00:00:00+00:00"}
    expect = Expectation.from_json(stored)
    assert expect == Expectation(ExpectKind.POLL, 3, UNTIL)
    assert expect is not None and expect.to_json() == stored
    assert Expectation(ExpectKind.FOLLOWUP, 7, UNTIL).to_json()["kind"] == "followup"


def test_expiry() -> None:
    expect = Expectation(ExpectKind.FOLLOWUP, 1, UNTIL)
    assert not expect.expired(UNTIL) and expect.expired(datetime(2026, 5, 3, tzinfo=UTC))
    assert not Expectation(ExpectKind.POLL, 1, None).expired(datetime.max.replace(tzinfo=UTC))


@pytest.mark.parametrize(
    "stored",
    [None, {}, {"kind": "quiz", "id": 1}, {"kind": "poll"}, {"kind": "poll", "id": "x"}],
)
def test_nothing_readable_is_no_expectation(stored: dict[str, object] | None) -> None:
    assert Expectation.from_json(stored) is None
