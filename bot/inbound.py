"""Receiving one message exactly once: the turn the webhook and `mibarrio chat` share."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.config import Config
from bot.engine import InboundMessage, handle_inbound
from bot.render import render
from storage import conversations
from storage.broadcasts import DEFAULT_QUIET_HOURS, QuietHours
from storage.db import retry_on_disconnect

MAX_BODY = 1600  # Twilio's own limit for a message body


@dataclass(frozen=True)
class TurnSettings:
    """What the configuration says about every turn (read once per process)."""

    fold: bool = True  # GSM7_FOLD: fold what GSM-7 lacks on SMS
    flow_timeout: timedelta = timedelta(minutes=30)
    quiet_hours: QuietHours = DEFAULT_QUIET_HOURS

    @classmethod
    def of(cls, config: Config) -> TurnSettings:
        return cls(
            fold=config.gsm7_fold,
            flow_timeout=timedelta(minutes=config.flow_timeout_minutes),
            quiet_hours=QuietHours.parse(config.quiet_hours),
        )


def clean_body(body: str) -> str:
    """What is kept of a message's text, whoever passed it on (the webhook, `mibarrio chat`):
    PostgreSQL text cannot hold NUL; other control characters are kept as sent."""
    return body.replace("\x00", "")[:MAX_BODY]


def receive(
    sessions: sessionmaker[Session],
    sid: str,
    msg: InboundMessage,
    settings: TurnSettings | None = None,
    *,
    now: datetime | None = None,
) -> list[str]:
    """Apply a message once per sid and return the reply texts (the same ones on a repeat).

    The turn is one transaction: lock the sender's rows, run the step, render the reply,
    write the message row last. A repeated MessageSid (a Twilio retry, or the same message
    racing itself) fails on the message row's unique constraint, the whole transaction rolls
    back, and the stored reply is returned. Nothing is applied twice, and the usual case
    costs no extra lookup. A connection the database dropped is retried once on a new one.
    """
    msg = replace(msg, body=clean_body(msg.body))
    chosen = settings or TurnSettings()
    try:
        return retry_on_disconnect(lambda: _turn(sessions, sid, msg, chosen, now))
    except IntegrityError:
        with sessions() as session:
            seen = conversations.find_inbound(session, sid)
        if seen is None:
            raise  # some other constraint failed: never swallow a message silently
        return list(seen.replies or [])


def _turn(
    sessions: sessionmaker[Session],
    sid: str,
    msg: InboundMessage,
    settings: TurnSettings,
    now: datetime | None,
) -> list[str]:
    with sessions.begin() as session:
        handled = handle_inbound(
            session,
            msg,
            now=now,
            flow_timeout=settings.flow_timeout,
            quiet_hours=settings.quiet_hours,
        )
        body = render(handled.replies, handled.language, msg.channel, fold=settings.fold)
        replies = [body] if body else []
        conversations.record_inbound(
            session,
            sid=sid,
            channel=msg.channel,
            # Declined consent or erased: keep nothing they wrote.
            body=None if handled.forget else msg.body,
            num_media=len(msg.media),
            resident_id=handled.resident_id,
            replies=replies,
        )
        return replies
