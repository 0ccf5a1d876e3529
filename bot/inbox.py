"""Receiving one message exactly once: the transaction the webhook and `mibarrio chat` share."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.engine import InboundMessage, handle_inbound, render
from storage import queries
from storage.models import ReceivedMessage


def receive(
    sessions: sessionmaker[Session],
    sid: str,
    msg: InboundMessage,
    *,
    fold: bool = True,
    flow_timeout: timedelta = timedelta(minutes=30),
    now: datetime | None = None,
) -> list[str]:
    """Apply a message once per sid and return the reply texts (the same ones on a repeat)."""
    try:
        with sessions() as session, session.begin():
            seen = queries.find_inbound(session, sid)
            if seen is not None:
                return list(seen.replies or [])
            record = ReceivedMessage(
                sid=sid, channel=msg.channel, body=msg.body, num_media=len(msg.media)
            )
            session.add(record)
            session.flush()  # a concurrent duplicate fails here, before any step is applied
            outcome = handle_inbound(session, msg, now=now, flow_timeout=flow_timeout)
            body = render(outcome.replies, outcome.language, msg.channel, fold=fold)
            record.resident_id = outcome.resident_id
            record.replies = [body] if body else []
            if outcome.forget:
                record.body = None  # declined consent or erased: keep nothing they wrote
            return list(record.replies)
    except IntegrityError:
        # The same MessageSid was being handled at the same moment: answer with its reply.
        with sessions() as session:
            seen = queries.find_inbound(session, sid)
        if seen is None:
            raise  # some other constraint failed: never swallow a message silently
        return list(seen.replies or [])
