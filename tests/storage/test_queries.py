"""Storage paths the webhook takes on every text: the locked read and the message row."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import pytest
from sqlalchemy import event, insert, inspect, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from storage import conversations
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
        resident = conversations.lock_resident(session, "+59171110001")
        assert resident.conversation is not None
        assert resident.conversation.flow is None
    with sessions() as session:
        assert session.get(Conversation, resident.id) is not None


def store(session: Session, resident: Resident, sid: str = "SM1") -> None:
    conversations.record_inbound(
        session,
        sid=sid,
        channel="sms",
        body="hola",
        num_media=0,
        resident_id=resident.id,
        replies=["ok"],
    )


def test_a_repeated_sid_writes_nothing_of_the_turn(sessions: Sessions) -> None:
    with transaction(sessions) as session:
        store(session, conversations.lock_resident(session, "+59171110005"), sid="SM-same")
    with pytest.raises(IntegrityError), transaction(sessions) as session:
        resident = conversations.lock_resident(session, "+59171110005")
        resident.language = "ay"
        store(session, resident, sid="SM-same")
    with sessions() as session:
        stored = session.scalars(select(Resident).where(Resident.phone == "+59171110005")).one()
        assert stored.language is None


def test_anything_else_pending_goes_through_the_full_flush(sessions: Sessions) -> None:
    resident_id = add_resident_without_conversation(sessions, "+59171110004")
    with transaction(sessions) as session:
        resident = conversations.lock_resident(session, "+59171110004")
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


def _columns(obj: object) -> dict[str, object]:
    mapper = inspect(obj).mapper
    return {prop.key: getattr(obj, prop.key) for prop in mapper.column_attrs}


def test_the_locked_rows_are_the_rows_the_orm_would_load(sessions: Sessions) -> None:
    """Every column, with its Python type: datetimes, JSON, booleans, NULLs."""
    phone = "+59171110006"
    with transaction(sessions) as session:
        resident = conversations.lock_resident(session, phone)
        resident.language, resident.status, resident.synthetic = "ay", "active", True
        resident.consent_at = resident.last_inbound_at = datetime(2026, 5, 1, 12, 30, 15, 123456)
        resident.topics = ["agua", "luz"]
        conv = resident.conversation
        assert conv is not None
        conv.flow, conv.step = "reports", "describe"
        conv.slots = {"category": "agua", "n": 2, "nested": {"ok": True}, "text": "Ñuñoa"}
        conv.expect = {"kind": "poll", "id": 3, "until": "2026-05-02T00:00:00+00:00"}
    with transaction(sessions) as session:
        direct = conversations.lock_resident(session, phone)
        got = _columns(direct), _columns(direct.conversation)
    with sessions() as session:
        orm = session.scalars(select(Resident).where(Resident.phone == phone)).one()
        want = _columns(orm), _columns(orm.conversation)
    assert got == want
    for mine, theirs in zip(got, want, strict=True):
        assert {k: type(v) for k, v in mine.items()} == {k: type(v) for k, v in theirs.items()}
    assert got[1]["slots"]["text"] == "Ñuñoa" and got[0]["synthetic"] is True


def test_locked_rows_are_in_the_session_unchanged_and_write_only_what_a_turn_changes(
    sessions: Sessions,
) -> None:
    with transaction(sessions) as session:
        conversations.lock_resident(session, "+59171110007")
    with transaction(sessions) as session:
        resident = conversations.lock_resident(session, "+59171110007")
        conv = resident.conversation
        assert conv is not None and conv.resident is resident
        assert inspect(resident).persistent and inspect(conv).persistent
        assert not session.dirty and not session.new
        with statements(session) as sent:
            session.flush()
            assert sent == []  # loaded means clean: nothing to write back
            conv.step = "category"
            session.flush()
        assert sent == ["UPDATE"]
        # Relationships load on access as after any ORM load.
        assert resident.zone is None and session.get(Resident, resident.id) is resident


def test_rows_already_in_the_session_are_refreshed_not_duplicated(sessions: Sessions) -> None:
    with transaction(sessions) as session:
        first = conversations.lock_resident(session, "+59171110008")
        # The row changes behind the loaded object's back ...
        session.execute(
            update(Resident)
            .where(Resident.id == first.id)
            .values(language="ay")
            .execution_options(synchronize_session=False)
        )
        assert first.language is None
        again = conversations.lock_resident(session, "+59171110008")
        # ... and locking it again gives the same object, with the row's values.
        assert again is first and again.conversation is first.conversation
        assert again.language == "ay"
