"""'¿Se resolvió?': asking reporters some days after their report was marked resolved."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from bot.outbound import followup_question, notify
from storage import conversations
from storage import reports as store
from storage.conversations import Expectation, ExpectKind
from storage.models import Conversation, Resident, utcnow

log = logging.getLogger(__name__)

# How long a bare "1"/"2" is read as the answer to the question.
ANSWER_WINDOW = timedelta(days=3)


def send_due_followups(
    sessions: sessionmaker[Session], *, now: datetime | None = None, fold: bool = True
) -> int:
    """Queue the follow-up question for every report whose time has come; returns how many."""
    now = now or utcnow()
    sent = 0
    with sessions() as session, session.begin():
        for report in store.due_followups(session, now):
            resident = session.get(Resident, report.resident_id) if report.resident_id else None
            if resident is not None and _awaiting_answer(session, resident, now):
                # A bare "1"/"2" can answer only one question: this one waits its turn.
                continue
            report.followup_sent_at = now
            if resident is None:
                continue
            question = followup_question(report)
            told = notify(session, resident, [question], topic="reports", fold=fold, now=now)
            if told is None:
                continue
            conv = conversations.conversation_for(session, resident)
            conv.expect = Expectation(ExpectKind.FOLLOWUP, report.id, now + ANSWER_WINDOW).to_json()
            session.flush()
            sent += 1
    if sent:
        log.info("asked %d reporter(s) whether their report was resolved", sent)
    return sent


def _awaiting_answer(session: Session, resident: Resident, now: datetime) -> bool:
    """True while the resident has an unanswered question we asked (and it has not expired)."""
    conv = session.get(Conversation, resident.id)
    expect = Expectation.from_json(conv.expect if conv is not None else None)
    return expect is not None and not expect.expired(now)
