"""Storage paths the webhook takes on every text: the locked read and the cheap write."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event, insert, select
from sqlalchemy.orm import Session, sessionmaker

from storage import queries
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
        resident = queries.lock_resident(session, "+59171110001")
        assert resident.conversation is not None
        assert resident.conversation.flow is None
    with sessions() as session:
        assert session.get(Conversation, resident.id) is not None


def test_changed_columns_of_the_locked_rows_are_written_and_kept(sessions: Sessions) -> None:
    with transaction(sessions) as session:
        resident = queries.lock_resident(session, "+59171110002")
        conv = resident.conversation
        assert conv is not None
        resident.language = "ay"
        conv.flow, conv.step, conv.slots = "reports", "category", {"x": 1}
        with statements(session) as sent:
            queries.flush_changes(session, resident, conv)
            session.flush()  # nothing left for the ORM to write
        assert sent == ["UPDATE", "UPDATE"]
    with sessions() as session:
        stored = session.scalars(select(Resident).where(Resident.phone == "+59171110002")).one()
        assert stored.language == "ay"
        assert stored.conversation is not None
        assert (stored.conversation.flow, stored.conversation.step) == ("reports", "category")
        assert stored.conversation.slots == {"x": 1}


def test_rows_nobody_changed_cost_no_statement(sessions: Sessions) -> None:
    with transaction(sessions) as session:
        resident = queries.lock_resident(session, "+59171110003")
        assert resident.conversation is not None
        with statements(session) as sent:
            queries.flush_changes(session, resident, resident.conversation)
        assert sent == []


def test_anything_else_pending_goes_through_the_full_flush(sessions: Sessions) -> None:
    resident_id = add_resident_without_conversation(sessions, "+59171110004")
    with transaction(sessions) as session:
        resident = queries.lock_resident(session, "+59171110004")
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
        assert resident.conversation is not None
        queries.flush_changes(session, resident, resident.conversation)
    with sessions() as session:
        assert session.get(Resident, resident_id).language == "ay"  # type: ignore[union-attr]
        assert session.scalars(select(Report.code)).all() == ["R-TEST"]
