"""The mapping measure (items, approved, rejected, kinds covered), counted by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.evidence.measures import CITY, measures, place
from storage import mapping as store
from storage.db import transaction
from storage.models import Resident, Zone
from tests.factories import add_residents

START = datetime(2026, 11, 2, 4, tzinfo=UTC)  # Monday, midnight in La Paz
END = START + timedelta(days=7)


def mapped(sessions: sessionmaker[Session], zone: str, items: list[tuple[str, str, int]]) -> None:
    """A mapper of `zone` who recorded (kind, status now, day of the week) items."""
    [resident_id] = add_residents(sessions, 1, zone=zone)
    with transaction(sessions) as session:
        resident = session.get(Resident, resident_id)
        zone_id = session.scalars(select(Zone.id).where(Zone.name == zone)).one()
        assert resident is not None
        mapper, _ = store.register_mapper(session, resident, zone_id, "cli", START)
        for kind, status, day in items:
            at = START + timedelta(days=day, hours=12)
            item = store.record_item(session, mapper, kind, "x", now=at)
            if status == "approved":
                store.approve_item(session, item, reviewer="cli", text_es="x", text_ay="x", now=at)
            elif status == "rejected":
                store.reject_item(session, item, reviewer="cli", note=None, now=at)


def test_mapping_measure_matches_a_count_by_hand(sessions: sessionmaker[Session]) -> None:
    mapped(
        sessions,
        "Sopocachi",
        [
            ("park", "approved", 0),
            ("park", "rejected", 1),
            ("trash_point", "pending", 2),
            ("school", "approved", -3),  # the week before: not counted
            ("shop", "approved", 7),  # the week after: not counted
        ],
    )
    mapped(sessions, "Achumani", [("no_water", "approved", 4)])
    with sessions() as session:
        city = measures(session, CITY, START, END)["mapping"]
        sopocachi = measures(session, place(session, zone="Sopocachi"), START, END)["mapping"]
    # City: 4 items (park, park, trash point, no water); approved 2, rejected 1; 3 kinds of 18
    # ("other" is not counted).
    assert city == {
        "items": 4,
        "approved": 2,
        "rejected": 1,
        "kinds": 3,
        "coverage": pytest.approx(3 / 18),
    }
    # Sopocachi: park, park, trash point; 1 approved, 1 rejected; 2 kinds of 18.
    assert sopocachi == {
        "items": 3,
        "approved": 1,
        "rejected": 1,
        "kinds": 2,
        "coverage": pytest.approx(2 / 18),
    }
