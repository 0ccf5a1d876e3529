"""Daily lessons: the next lesson of a course, at the La Paz hour the resident chose.

A lesson goes out at most once per enrolment (a course_deliveries row claims it before the
message is written, in the same transaction), never in quiet hours, never on the day the
previous lesson was shown, and only once the previous question was answered.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from bot.outbound import channel_for, lesson_message
from bot.render import render
from storage import conversations
from storage import courses as store
from storage.broadcasts import DEFAULT_QUIET_HOURS, QuietHours
from storage.conversations import Expectation, ExpectKind
from storage.models import Conversation, Enrolment, aware, utcnow
from storage.outbox import queue_message

log = logging.getLogger(__name__)

# How long a bare "1" is read as asking for the daily lesson's question (CURSOS works always).
ANSWER_WINDOW = timedelta(hours=20)


def is_due(enrolment: Enrolment, now: datetime) -> bool:
    """The chosen hour has come today (La Paz) and no lesson was shown today yet."""
    if enrolment.daily_hour is None:
        return False
    return store.next_daily_lesson(enrolment.last_lesson_at, enrolment.daily_hour, now) <= aware(
        now
    )


def send_due_lessons(
    sessions: sessionmaker[Session],
    *,
    now: datetime | None = None,
    quiet_hours: QuietHours = DEFAULT_QUIET_HOURS,
    fold: bool = True,
) -> int:
    """Queue the next lesson of every enrolment whose daily hour has come; returns how many."""
    now = now or utcnow()
    if quiet_hours.contains(now):
        return 0
    sent = 0
    with sessions() as session, session.begin():
        for enrolment in store.daily_candidates(session):
            if not is_due(enrolment, now) or _awaiting_answer(session, enrolment, now):
                continue
            resident = enrolment.resident
            if not resident.phone:
                continue
            lesson = store.advance(enrolment, now)
            if lesson is None:
                continue  # the last answer finished the course
            if not store.mark_delivered(session, enrolment, lesson, now, daily=True):
                continue  # shown already (another sender got there first)
            replies = lesson_message(lesson, resident.language, len(enrolment.course.lessons))
            channel = channel_for(resident, now)
            queue_message(
                session,
                resident,
                render(replies, resident.language, channel, fold=fold),
                channel=channel,
            )
            conv = conversations.conversation_for(session, resident)
            conv.expect = Expectation(
                ExpectKind.COURSE, enrolment.id, now + ANSWER_WINDOW
            ).to_json()
            session.flush()
            sent += 1
    if sent:
        log.info("sent %d daily lesson(s)", sent)
    return sent


def _awaiting_answer(session: Session, enrolment: Enrolment, now: datetime) -> bool:
    """True while the resident has another question of ours open (a poll, a follow-up): a bare
    "1" can answer only one of them, so the lesson waits for the next run."""
    conv = session.get(Conversation, enrolment.resident_id)
    expect = Expectation.from_json(conv.expect if conv is not None else None)
    if expect is None or expect.expired(now):
        return False
    return not (expect.kind == ExpectKind.COURSE and expect.id == enrolment.id)
