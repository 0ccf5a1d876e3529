"""The kept counts of signed-up residents (audience_counts) always equal a count of the
residents themselves, whatever happens to a resident, on SQLite and PostgreSQL; and the
migration that adds them counts the residents already there."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from storage import audience
from storage.broadcasts import recipients_query
from storage.db import make_engine, make_sessionmaker, transaction
from storage.enums import ResidentStatus
from storage.migrate import upgrade
from storage.models import TOPICS, Broadcast, Resident, Zone
from storage.seed import seed_zones
from tests.conftest import BACKENDS, own_pg_database

KINDS = {"announcements": "announcement", "polls": "poll", "news": "news"}


def _counted(session: Session) -> dict[str, Any]:
    """What the kept counts say: per zona, per language, and per topic and zona set."""
    zones = sorted(session.scalars(select(Zone.id)).all())[:3]
    return {
        "zone": audience.signed_up_by_zone(session),
        "zone_some": audience.signed_up_by_zone(session, zones[:2]),
        "language": audience.signed_up_by_language(session),
        "reach": {
            (topic, scope): audience.reached_by_language(session, topic, ids)
            for topic in KINDS
            for scope, ids in (("city", None), ("two", zones[:2]), ("one", zones[2:3]))
        },
    }


def _recounted(session: Session) -> dict[str, Any]:
    """The same figures counted from the residents (and recipients_query for the reach)."""
    zones = sorted(session.scalars(select(Zone.id)).all())[:3]
    active = Resident.status == ResidentStatus.ACTIVE

    def by(column: Any, *where: Any) -> dict[Any, int]:
        rows = session.execute(
            select(column, func.count()).where(active, *where).group_by(column)
        ).tuples()
        return {key: n for key, n in rows}

    reach: dict[tuple[str, str], dict[str, int]] = {}
    for _topic, kind in KINDS.items():
        for scope, ids in (("city", None), ("two", zones[:2]), ("one", zones[2:3])):
            # Every zona's recipients, then those of the zonas asked (a saved broadcast
            # would name them in broadcast_zones).
            query = recipients_query(Broadcast(kind=kind, citywide=True))
            if ids is not None:
                query = query.where(Resident.zone_id.in_(ids))
            ids_reached = select(Resident.language, func.count()).where(
                Resident.id.in_(query.scalar_subquery())
            )
            counted: dict[str, int] = {}
            for lang, n in session.execute(ids_reached.group_by(Resident.language)).tuples():
                counted[lang or "es"] = counted.get(lang or "es", 0) + n
            reach[(_topic, scope)] = counted
    return {
        "zone": by(Resident.zone_id),
        "zone_some": by(Resident.zone_id, Resident.zone_id.in_(zones[:2])),
        "language": by(Resident.language),
        "reach": reach,
    }


def _change(session: Session, rng: random.Random, zone_ids: list[int], serial: list[int]) -> None:
    """One thing that happens to residents: a sign-up, a consent, an opt-out, a move, new
    topics or language, a number found invalid (or fixed), an erasure, a deletion, a bulk
    update by SQL."""
    ids = list(session.scalars(select(Resident.id)))
    what = rng.choice(
        ["new", "new", "consent", "status", "move", "topics", "language", "invalid", "erase",
         "delete", "bulk", "noop"]
    )  # fmt: skip
    if what == "new" or not ids:
        serial[0] += 1
        status = rng.choice(["onboarding", "active", "active", "opted_out"])
        session.add(
            Resident(
                phone=f"+5917{serial[0]:07d}",
                language=rng.choice(["es", "ay", None]),
                zone_id=rng.choice(zone_ids + [None]),
                status=status,
                topics=rng.choice([list(TOPICS), ["news"], [], ["polls", "polls"], None]),
            )
        )
        return
    resident = session.get(Resident, rng.choice(ids))
    assert resident is not None
    if what == "consent":
        resident.status = ResidentStatus.ACTIVE
    elif what == "status":
        resident.status = rng.choice(list(ResidentStatus))
    elif what == "move":
        resident.zone_id = rng.choice(zone_ids)
    elif what == "topics":
        resident.topics = rng.sample(list(TOPICS), rng.randint(0, len(TOPICS)))
    elif what == "language":
        resident.language = rng.choice(["es", "ay"])
    elif what == "invalid":
        resident.number_invalid_at = None if resident.number_invalid_at else func.now()
    elif what == "erase":
        resident.status, resident.phone, resident.topics = ResidentStatus.ERASED, None, []
    elif what == "delete":
        session.execute(delete(Resident).where(Resident.id == resident.id))
    elif what == "bulk":
        zone = rng.choice(zone_ids)
        session.execute(
            update(Resident).where(Resident.zone_id == zone).values(zone_id=rng.choice(zone_ids))
        )
    else:
        resident.last_channel = "whatsapp"  # not a counted column: nothing moves


def test_the_kept_counts_follow_every_change_to_a_resident(
    sessions: sessionmaker[Session],
) -> None:
    rng = random.Random(17)
    with transaction(sessions) as session:
        zone_ids = sorted(session.scalars(select(Zone.id)).all())[:4]
    serial = [0]
    seen: list[dict[str, Any]] = []
    for round_ in range(60):
        with transaction(sessions) as session:
            for _ in range(rng.randint(1, 6)):
                _change(session, rng, zone_ids, serial)
                session.flush()
        if round_ % 5 == 4:
            with transaction(sessions) as session:
                counted = _counted(session)
                assert counted == _recounted(session), f"after round {round_}"
                seen.append(counted)
    # The changes reached every kind of figure (not comparisons of empty counts).
    assert max(sum(c["zone"].values()) for c in seen) > 5
    assert any(c["zone"].get(None) for c in seen), "a resident without a zona, counted apart"
    assert any(c["language"].get(None) for c in seen), "a resident with no language yet"
    assert any(c["reach"][(t, "two")].get("ay") for c in seen for t in KINDS)


def test_a_rolled_back_change_moves_no_count(sessions: sessionmaker[Session]) -> None:
    with transaction(sessions) as session:
        zone = session.scalars(select(Zone.id).order_by(Zone.id)).first()
        session.add(Resident(phone="+59170000001", language="es", zone_id=zone, status="active"))
    session = sessions()
    try:
        session.execute(update(Resident).values(status=ResidentStatus.OPTED_OUT))
        assert audience.signed_up_by_zone(session) == {}
        session.rollback()
        assert audience.signed_up_by_zone(session) == {zone: 1}
    finally:
        session.close()


@pytest.fixture(params=BACKENDS)
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of its own with no schema yet (SQLite file, or a new PostgreSQL one)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'before.db'}"
        return
    with own_pg_database("mibarrio_audience") as url:
        yield url


def test_the_migration_counts_the_residents_already_there(empty_url: str) -> None:
    url = empty_url
    upgrade(url, "0016")
    engine = make_engine(url)
    try:
        with transaction(make_sessionmaker(engine)) as session:
            seed_zones(session)
            zones = sorted(session.scalars(select(Zone.id)).all())[:2]
        with engine.begin() as conn:
            for rid, zone, lang, status, topics, phone in (
                (1, zones[0], "'es'", "active", '["news", "polls"]', "'+59170000001'"),
                (2, zones[0], "'ay'", "active", '["news"]', "'+59170000002'"),
                (3, zones[1], "NULL", "active", "null", "'+59170000003'"),
                (4, zones[1], "'es'", "opted_out", '["news"]', "'+59170000004'"),
                (5, "NULL", "'es'", "active", '["polls"]', "NULL"),
            ):
                conn.execute(text(
                    "INSERT INTO residents (id, phone, zone_id, language, status, topics,"
                    f" last_channel, synthetic, created_at) VALUES ({rid}, {phone}, {zone},"
                    f" {lang}, '{status}', '{topics}', 'sms', false, '2026-10-01 12:00:00')"
                ))  # fmt: skip
        upgrade(url)
        with transaction(make_sessionmaker(engine)) as session:
            assert audience.signed_up_by_zone(session) == {zones[0]: 2, zones[1]: 1, None: 1}
            assert audience.signed_up_by_language(session) == {"es": 2, "ay": 1, None: 1}
            assert audience.reached_by_language(session, "news", None) == {"es": 1, "ay": 1}
            assert audience.reached_by_language(session, "polls", [zones[0]]) == {"es": 1}
            # The triggers work from here on.
            session.execute(update(Resident).where(Resident.id == 2).values(status="opted_out"))
            assert audience.reached_by_language(session, "news", None) == {"es": 1}
    finally:
        engine.dispose()
