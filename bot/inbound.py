"""Receiving one message exactly once: the turn the webhook and `mibarrio chat` share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.config import Config
from bot.engine import Flood, InboundMessage, handle_inbound
from bot.flows.account import NO_NUMBER
from bot.render import Reply, render
from storage import conversations
from storage.broadcasts import DEFAULT_QUIET_HOURS, QuietHours
from storage.db import retry_on_disconnect
from storage.models import utcnow

MAX_BODY = 1600  # Twilio's own limit for a message body


@dataclass(frozen=True)
class TurnSettings:
    """What the configuration says about every turn (read once per process).

    With no configuration there is no flood limit: the limit is a deployment's policy, which
    the webhook and `mibarrio chat` read from Config (FLOOD_LIMIT, default 20 a minute), while
    code that calls receive() itself (scripted conversations, the fuzz, imports) types faster
    than any resident and must not depend on the wall clock.
    """

    fold: bool = True  # GSM7_FOLD: fold what GSM-7 lacks on SMS
    flow_timeout: timedelta = timedelta(minutes=30)
    quiet_hours: QuietHours = DEFAULT_QUIET_HOURS
    flood: Flood | None = None  # FLOOD_LIMIT per FLOOD_WINDOW_SECONDS; None: no limit

    @classmethod
    def of(cls, config: Config) -> TurnSettings:
        limited = config.flood_limit > 0 and config.flood_window_seconds > 0
        return cls(
            fold=config.gsm7_fold,
            flow_timeout=timedelta(minutes=config.flow_timeout_minutes),
            quiet_hours=QuietHours.parse(config.quiet_hours),
            flood=(
                Flood(config.flood_limit, timedelta(seconds=config.flood_window_seconds))
                if limited
                else None
            ),
        )


def clean_body(body: str) -> str:
    """What is kept of a message's text, whoever passed it on (the webhook, `mibarrio chat`):
    PostgreSQL text cannot hold NUL; other control characters are kept as sent."""
    return _without_nul(body)[:MAX_BODY]


def _without_nul(text: str) -> str:
    return text.replace("\x00", "")


def cleaned(msg: InboundMessage) -> InboundMessage:
    """The message with every text field storable: the body, media URLs and the address a
    WhatsApp location pin carries are all written to the database by a report."""
    media = [url for url in map(_without_nul, msg.media) if url.strip()]
    address = _without_nul(msg.address).strip() if msg.address else None
    return replace(msg, body=clean_body(msg.body), media=media, address=address or None)


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
    msg = cleaned(msg)
    chosen = settings or TurnSettings()
    return _once(sessions, sid, lambda: _turn(sessions, sid, msg, chosen, now))


def _once(sessions: sessionmaker[Session], sid: str, work: Callable[[], list[str]]) -> list[str]:
    """`work` (which records the message row), or the replies stored for a sid seen before."""
    try:
        return retry_on_disconnect(work)
    except IntegrityError:
        with sessions() as session:
            seen = conversations.find_inbound(session, sid)
        if seen is None:
            raise  # some other constraint failed: never swallow a message silently
        return list(seen.replies or [])


def answer_without_number(
    sessions: sessionmaker[Session], sid: str, channel: str, body: str
) -> list[str]:
    """A message from someone we cannot key by a phone number (a WhatsApp username): kept
    like any other text, once per sid, and answered with how to reach Mi Barrio instead."""
    reply = render([Reply(NO_NUMBER, bilingual=True)], None, channel)

    def keep() -> list[str]:
        with sessions.begin() as session:
            conversations.record_inbound(
                session,
                sid=sid,
                channel=channel,
                body=clean_body(body),
                num_media=0,
                resident_id=None,
                replies=[reply],
            )
        return [reply]

    return _once(sessions, sid, keep)


def _turn(
    sessions: sessionmaker[Session],
    sid: str,
    msg: InboundMessage,
    settings: TurnSettings,
    now: datetime | None,
) -> list[str]:
    now = now or utcnow()  # the message's time, in the resident's row and in the message row
    with sessions.begin() as session:
        handled = handle_inbound(
            session,
            msg,
            now=now,
            flow_timeout=settings.flow_timeout,
            quiet_hours=settings.quiet_hours,
            flood=settings.flood,
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
            received_at=now,
        )
        return replies
