"""Daily lessons: sent at the resident's La Paz hour, never in quiet hours, never twice, through
the outbox, RQ and Twilio (the local server); the resident's "1" then brings the question."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta

import pytest
from rq import Queue
from sqlalchemy import func, select, update

from bot.config import Config
from storage import courses as store
from storage.broadcasts import LA_PAZ, QuietHours
from storage.db import transaction
from storage.models import Enrolment, LessonDelivery, OutboundMessage, utcnow
from tests.conftest import Chat
from tests.helpers import installed, twilio_config
from tests.twilio_local import TwilioLocal
from tests.worker.test_worker import relay_and_work, sign_up
from worker.context import WorkerContext
from worker.courses import send_due_lessons

pytestmark = pytest.mark.usefixtures("local_only")

QUIET = QuietHours.parse("21:00-07:00")


@pytest.fixture
def ctx(config: Config, tw: TwilioLocal) -> Iterator[WorkerContext]:
    """The worker's context with Twilio credentials, sending to the local server."""
    with installed(twilio_config(config, tw)) as ctx:
        yield ctx


def la_paz(days: int, hour: int, minute: int = 0) -> datetime:
    """A La Paz wall-clock time `days` after today, in UTC."""
    day = datetime.now(LA_PAZ).date() + timedelta(days=days)
    return datetime.combine(day, time(hour, minute), tzinfo=LA_PAZ).astimezone(UTC)


def daily_at(chat: Chat, hour: str) -> None:
    """The chat's resident takes "Cómo usar Mi Barrio", asks for a lesson a day at `hour`
    and answers lesson 1 today."""
    with transaction(chat.sessions) as session:
        store.seed_starter_courses(session, utcnow())
    for text in ("CURSOS", "1", "CURSOS", "3", hour, "CURSOS", "1", "1"):
        chat.say(text)
    assert "¡Correcto!" in chat.say("1")


def sent(ctx: WorkerContext, now: datetime) -> int:
    return send_due_lessons(ctx.sessions, now=now, quiet_hours=QUIET)


def test_the_next_lesson_goes_out_once_at_the_chosen_hour_and_1_brings_its_question(
    chat: Chat, ctx: WorkerContext, q: Queue, tw: TwilioLocal
) -> None:
    sign_up(chat)
    daily_at(chat, "19")
    assert sent(ctx, la_paz(0, 20)) == 0, "lesson 1 was shown today: the next waits a day"
    assert sent(ctx, la_paz(1, 18, 59)) == 0, "before the chosen hour"
    assert sent(ctx, la_paz(1, 19, 0)) == 1
    assert sent(ctx, la_paz(1, 19, 0)) == 0, "the same run again"
    assert sent(ctx, la_paz(1, 20, 30)) == 0, "later the same day"

    assert relay_and_work(ctx, q) == 1
    assert tw.errors == [] and len(tw.requests) == 1
    body = tw.requests[0]["Body"]
    assert body.startswith("Leccion 2 de 8: En 4 Mis reportes") and body.endswith("1: pregunta")

    # Lesson 2 is not answered: nothing more comes, day after day.
    assert sent(ctx, la_paz(2, 19)) == 0 and sent(ctx, la_paz(3, 19)) == 0
    chat.now = la_paz(1, 19, 5)
    assert chat.say("1").startswith("Pregunta: ¿Donde ve el estado de sus reportes?")
    reply = chat.say("2")
    assert reply.startswith("¡Correcto! Mis reportes es la opcion 4")
    assert sent(ctx, la_paz(2, 19)) == 1
    assert relay_and_work(ctx, q) == 1
    assert tw.requests[1]["Body"].startswith("Leccion 3 de 8")


def test_no_lesson_in_quiet_hours_and_none_sent_twice_even_if_asked_again(
    chat: Chat, ctx: WorkerContext, q: Queue, tw: TwilioLocal
) -> None:
    sign_up(chat)
    daily_at(chat, "20")
    # The worker was down at 20:00; at 21:30 quiet hours have begun: the lesson waits.
    assert sent(ctx, la_paz(1, 21, 30)) == 0
    assert sent(ctx, la_paz(2, 6, 59)) == 0
    assert sent(ctx, la_paz(2, 20)) == 1
    # Someone puts the enrolment back (a restored backup, a second sender that read it
    # before): lesson 2 was delivered already, so nothing goes out again.
    with transaction(ctx.sessions) as session:
        session.execute(update(Enrolment).values(position=1, stage="answered"))
    assert sent(ctx, la_paz(3, 20)) == 0
    relay_and_work(ctx, q)
    assert len(tw.requests) == 1
    with ctx.sessions() as session:
        assert session.scalar(select(func.count()).select_from(LessonDelivery)) == 2
        assert session.scalar(select(func.count()).select_from(OutboundMessage)) == 1


def test_a_paused_course_an_opted_out_resident_and_on_answer_mode_get_nothing(
    chat: Chat, ctx: WorkerContext
) -> None:
    sign_up(chat)
    daily_at(chat, "19")
    chat.say("CURSOS")
    chat.say("2")  # pause
    assert sent(ctx, la_paz(1, 19)) == 0
    chat.say("CURSOS")
    chat.say("3")
    chat.say("19")  # choosing the hour again takes the pause away
    chat.say("BAJA")
    assert sent(ctx, la_paz(1, 19)) == 0
    chat.say("ALTA")
    chat.say("CURSOS")
    chat.say("3")
    chat.say("0")  # on answer
    assert sent(ctx, la_paz(1, 19)) == 0


def test_a_course_taken_back_to_draft_sends_no_more_daily_lessons(
    chat: Chat, ctx: WorkerContext
) -> None:
    sign_up(chat)
    daily_at(chat, "19")
    with transaction(ctx.sessions) as session:
        course = store.course_by_slug(session, "como-usar-mi-barrio")
        assert course is not None
        store.publish(course, utcnow(), published=False)
    assert sent(ctx, la_paz(1, 19)) == 0
    assert sent(ctx, la_paz(2, 19)) == 0
    # Published again: the resident's course goes on where it was.
    with transaction(ctx.sessions) as session:
        course = store.course_by_slug(session, "como-usar-mi-barrio")
        assert course is not None
        store.publish(course, utcnow())
    assert sent(ctx, la_paz(3, 19)) == 1


def test_a_1_after_a_daily_lesson_of_a_course_since_withdrawn_is_told_so(
    chat: Chat, ctx: WorkerContext
) -> None:
    sign_up(chat)
    daily_at(chat, "19")
    assert sent(ctx, la_paz(1, 19)) == 1
    with transaction(ctx.sessions) as session:
        course = store.course_by_slug(session, "como-usar-mi-barrio")
        assert course is not None
        store.publish(course, utcnow(), published=False)
    chat.now = la_paz(1, 19, 30)
    assert chat.say("1").startswith("El curso Como usar Mi Barrio ya no se ofrece.")
    assert chat.say("CURSOS").startswith("Cursos: 1 Su junta vecinal y el POA. 0: volver.")
