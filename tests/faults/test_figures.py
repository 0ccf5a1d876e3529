"""The counting every scenario shares: copies, losses and late sends, by what the stand-in saw."""

from __future__ import annotations

import pytest

from tests.faults.figures import Figures, count_sends, misses, table

# The rest of tests/faults starts processes; this module goes with them (make test-fast skips
# the whole folder).
pytestmark = pytest.mark.slow


def figures() -> Figures:
    return Figures("s", "sqlite", "A scenario", "does", "here", "issue")


def request(to: str, body: str, t: float = 0.0) -> dict[str, object]:
    return {"To": to, "Body": body, "t": t}


def test_sends_are_counted_per_recipient_and_message() -> None:
    f = figures()
    requests = [
        request("+1", "(F-B1) hola"),
        request("+1", "(F-B1) hola"),  # a second copy of the broadcast
        request("+1", "(F-M0) su reporte"),  # a different message to the same phone
        request("whatsapp:+2", "(F-B1) jallalla"),  # same broadcast, other language, WhatsApp
        request("+9", "(F-B1) hola", t=5.0),  # opted out at 4.0
        request("+8", "(F-B1) hola", t=1.0),  # opted out at 4.0, sent before: fine
        request("+7", "(F-B1) hola"),  # opted out before anything was sent
    ]
    expected = {("+1", "(F-B1)"), ("+1", "(F-M0)"), ("+2", "(F-B1)"), ("+3", "(F-B1)")}
    count_sends(f, requests, expected, {"+9": 4.0, "+8": 4.0, "+7": None})
    assert (f.expected, f.sent, f.duplicated, f.lost, f.to_opted_out) == (4, 7, 1, 1, 2)
    assert misses([f]).count("\n- ") == 1
    assert f.misses() == ["duplicated: 1", "lost: 1", "sent to opted-out residents: 2"]


def test_the_table_has_a_row_per_run_and_dashes_where_nothing_was_measured() -> None:
    f = figures()
    f.texts, f.requests, f.applied = 3, 9, 3
    lines = table([f]).splitlines()
    assert len(lines) == 3 and lines[2].startswith("| A scenario | SQLite | – |")
    assert "| 3 (9) | 3 | 0 / 0 | 0 | 0 |" in lines[2]
