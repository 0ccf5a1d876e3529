"""Sign-ups left unfinished are deleted after SIGNUP_PURGE_DAYS, as if they had declined."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.config import Config
from storage.models import Conversation, ReceivedMessage, Resident, utcnow
from tests.conftest import Chat
from tests.helpers import installed
from worker.context import WorkerContext
from worker.runner import periodic

Sessions = sessionmaker[Session]

pytestmark = pytest.mark.usefixtures("local_only")


@pytest.fixture
def ctx(config: Config) -> Iterator[WorkerContext]:
    with installed(replace(config, signup_purge_days=30)) as worker_ctx:
        yield worker_ctx


def texted(sessions: Sessions, phone: str, days_ago: float, *texts: str) -> Chat:
    chat = Chat(sessions, phone=phone, now=utcnow() - timedelta(days=days_ago))
    for text in texts:
        chat.say(text)
    return chat


def phones(sessions: Sessions) -> set[str | None]:
    with sessions() as session:
        return set(session.scalars(select(Resident.phone)))


def test_a_sign_up_quiet_for_31_days_is_deleted_with_what_it_wrote(
    ctx: WorkerContext, sessions: Sessions
) -> None:
    texted(sessions, "+59171000001", 31, "Hola", "1", "Calle falsa 123")  # stopped at the zona
    texted(sessions, "+59171000002", 10, "Hola")  # still has time
    texted(sessions, "+59171000003", 40, "Hola", "1", "Sopocachi", "1")  # signed up
    texted(sessions, "+59171000004", 40, "Hola", "BAJA")  # opted out: remembered

    periodic(ctx)

    assert phones(sessions) == {"+59171000002", "+59171000003", "+59171000004"}
    with sessions() as session:
        kept_bodies = session.scalars(
            select(ReceivedMessage.body).where(ReceivedMessage.resident_id.is_(None))
        ).all()
        assert kept_bodies == [None, None, None]  # the 3 texts are counted, not kept
        orphans = session.scalar(
            select(func.count())
            .select_from(Conversation)
            .where(~Conversation.resident_id.in_(select(Resident.id)))
        )
        assert orphans == 0


def test_a_deleted_sign_up_that_texts_again_starts_afresh(
    ctx: WorkerContext, sessions: Sessions
) -> None:
    texted(sessions, "+59171000005", 31, "Hola", "2")
    periodic(ctx)
    assert "+59171000005" not in phones(sessions)
    reply = Chat(sessions, phone="+59171000005").say("Hola")
    assert "Bienvenido a Mi Barrio" in reply


def test_zero_days_keeps_every_sign_up(config: Config, sessions: Sessions) -> None:
    texted(sessions, "+59171000006", 400, "Hola")
    with installed(replace(config, signup_purge_days=0)) as keep_all:
        periodic(keep_all)
    assert "+59171000006" in phones(sessions)
