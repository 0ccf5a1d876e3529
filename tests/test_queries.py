"""Storage paths the webhook takes on every text: the locked read and the cheap write."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from storage import turns
from storage.db import transaction
from storage.models import Conversation, Report, Resident, Zone, utcnow
from tests.conftest import Chat

Sessions = sessionmaker[Session]


@contextmanager
def statements(session: Session) -> Iterator[list[str]]:
    """The SQL statements a block sends (BEGIN and COMMIT not included)."""
    seen: list[str] = []
    engine = session.get_bind()

    def record(_conn: object, _cur: object, sql: str, *_args: object) -> None:
        seen.append(sql.split()[0].upper())

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def add_resident_without_conversation(sessions: Sessions, phone: str) -> int:
    """A resident row as older versions left it: onboarded, no conversation row."""
    with transaction(sessions) as session:
        zone_id = session.scalars(select(Zone.id).where(Zone.name == "Sopocachi")).one()
        return session.execute(
            insert(Resident)
            .values(
                phone=phone,
                language="es",
                zone_id=zone_id,
                status="active",
                consent_at=utcnow(),
                created_at=utcnow(),
            )
            .returning(Resident.id)
        ).scalar_one()


def test_a_resident_without_a_conversation_row_gets_one_and_is_answered(
    sessions: Sessions,
) -> None:
    resident_id = add_resident_without_conversation(sessions, "+59171110000")
    reply = Chat(sessions, phone="+59171110000").say("menu")
    assert "1" in reply and "Reportar" in reply  # the menu, not onboarding
    with sessions() as session:
        assert session.get(Conversation, resident_id) is not None
        assert session.scalars(select(Resident).where(Resident.phone == "+59171110000")).one()


def test_every_new_resident_gets_a_conversation_row_at_once(sessions: Sessions) -> None:
    with transaction(sessions) as session:
        resident = turns.lock_resident(session, "+59171110001")
        assert resident.conversation is not None
        assert resident.conversation.flow is None
    with sessions() as session:
        assert session.get(Conversation, resident.id) is not None


def store(session: Session, resident: Resident, sid: str = "SM1") -> None:
    assert resident.conversation is not None
    turns.store_turn(
        session,
        (resident, resident.conversation),
        sid=sid,
        channel="sms",
        body="hola",
        num_media=0,
        resident_id=resident.id,
        replies=["ok"],
    )


def test_changed_columns_of_the_locked_rows_are_written_with_the_message(
    sessions: Sessions,
) -> None:
    with transaction(sessions) as session:
        resident = turns.lock_resident(session, "+59171110002")
        conv = resident.conversation
        assert conv is not None
        resident.language = "ay"
        conv.flow, conv.step, conv.slots = "reports", "category", {"x": 1}
        with statements(session) as sent:
            store(session, resident)
            session.flush()  # nothing left for the ORM to write
        postgres = session.get_bind().dialect.name == "postgresql"
        # PostgreSQL: one round trip (WITH <updates> INSERT); SQLite: UPDATE, UPDATE, INSERT.
        assert sent == (["WITH"] if postgres else ["UPDATE", "UPDATE", "INSERT"])
    with sessions() as session:
        stored = session.scalars(select(Resident).where(Resident.phone == "+59171110002")).one()
        assert turns.find_inbound(session, "SM1") is not None
        assert stored.language == "ay"
        assert stored.conversation is not None
        assert (stored.conversation.flow, stored.conversation.step) == ("reports", "category")
        assert stored.conversation.slots == {"x": 1}


def test_rows_nobody_changed_cost_no_update(sessions: Sessions) -> None:
    with transaction(sessions) as session:
        resident = turns.lock_resident(session, "+59171110003")
        with statements(session) as sent:
            store(session, resident)
        assert sent == ["INSERT"]


def test_a_repeated_sid_writes_nothing_of_the_turn(sessions: Sessions) -> None:
    with transaction(sessions) as session:
        store(session, turns.lock_resident(session, "+59171110005"), sid="SM-same")
    with pytest.raises(IntegrityError), transaction(sessions) as session:
        resident = turns.lock_resident(session, "+59171110005")
        resident.language = "ay"
        store(session, resident, sid="SM-same")
    with sessions() as session:
        stored = session.scalars(select(Resident).where(Resident.phone == "+59171110005")).one()
        assert stored.language is None


def test_anything_else_pending_goes_through_the_full_flush(sessions: Sessions) -> None:
    resident_id = add_resident_without_conversation(sessions, "+59171110004")
    with transaction(sessions) as session:
        resident = turns.lock_resident(session, "+59171110004")
        resident.language = "ay"
        session.add(
            Report(
                code="R-TEST",
                resident_id=resident_id,
                zone_id=resident.zone_id,
                category="water",
                description="sin agua",
            )
        )
        store(session, resident)
    with sessions() as session:
        assert session.get(Resident, resident_id).language == "ay"  # type: ignore[union-attr]
        assert session.scalars(select(Report.code)).all() == ["R-TEST"]
