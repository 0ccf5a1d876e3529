"""Receiving one message exactly once: the transaction the webhook and `mibarrio chat` share."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.engine import InboundMessage, handle_inbound, render
from storage import conversations
from storage.broadcasts import DEFAULT_QUIET_HOURS, QuietHours
from storage.db import DEFER_WRITE_LOCK, StaleRead, retry_on_disconnect, writes_sent

MAX_BODY = 1600  # Twilio's own limit for a message body


def clean_body(body: str) -> str:
    """What is kept of a message's text, whoever passed it on (the webhook, `mibarrio chat`):
    PostgreSQL text cannot hold NUL; other control characters are kept as sent."""
    return body.replace("\x00", "")[:MAX_BODY]


def receive(
    sessions: sessionmaker[Session],
    sid: str,
    msg: InboundMessage,
    *,
    fold: bool = True,
    flow_timeout: timedelta = timedelta(minutes=30),
    quiet_hours: QuietHours = DEFAULT_QUIET_HOURS,
    now: datetime | None = None,
    async_navigation: bool = False,
) -> list[str]:
    """Apply a message once per sid and return the reply texts (the same ones on a repeat).

    The message row is inserted last, in the same transaction as the step it caused: a
    repeated MessageSid (a Twilio retry, or the same message racing itself) fails on the
    unique constraint, the whole transaction rolls back, and the stored reply is returned.
    Nothing is applied twice, and the usual case costs no extra lookup.

    On SQLite the turn first runs without the database's write lock, which it takes at its
    first write: the rows it read are compared again then, and if they changed the turn is
    run once more with the lock held throughout. Two workers thus only queue for the writes.

    With `async_navigation` (PostgreSQL), a turn that only moved through menus commits without
    waiting for its WAL flush (see storage.conversations.store_turn).
    """

    msg = replace(msg, body=clean_body(msg.body))

    def apply(defer: bool) -> list[str]:
        return retry_on_disconnect(
            lambda: _apply_once(
                sessions, sid, msg, fold, flow_timeout, quiet_hours, now, defer, async_navigation
            )
        )

    try:
        try:
            return apply(defer=True)
        except StaleRead:
            # Another text from the phone (or another writer) got there first: once more,
            # this time holding the lock from the first read.
            return apply(defer=False)
    except IntegrityError:
        with sessions() as session:
            seen = conversations.find_inbound(session, sid)
        if seen is None:
            raise  # some other constraint failed: never swallow a message silently
        return list(seen.replies or [])


def _apply_once(
    sessions: sessionmaker[Session],
    sid: str,
    msg: InboundMessage,
    fold: bool,
    flow_timeout: timedelta,
    quiet_hours: QuietHours,
    now: datetime | None,
    defer: bool,
    async_navigation: bool,
) -> list[str]:
    with sessions() as session, session.begin():
        if defer:  # SQLite: read without the write lock (PostgreSQL locks rows instead)
            session.connection(execution_options={DEFER_WRITE_LOCK: True})
        written = writes_sent(session) if async_navigation else None
        outcome = handle_inbound(
            session, msg, now=now, flow_timeout=flow_timeout, quiet_hours=quiet_hours
        )
        body = render(outcome.replies, outcome.language, msg.channel, fold=fold)
        replies = [body] if body else []
        conversations.store_turn(
            session,
            outcome.rows,
            sid=sid,
            channel=msg.channel,
            # Declined consent or erased: keep nothing they wrote.
            body=None if outcome.forget else msg.body,
            num_media=len(msg.media),
            resident_id=outcome.resident_id,
            replies=replies,
            # Only if nothing was written yet: a new resident's row, a vote, an erasure ...
            async_navigation=written is not None and writes_sent(session) == written,
        )
        return replies
