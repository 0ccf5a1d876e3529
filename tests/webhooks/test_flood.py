"""A phone that writes too fast: past FLOOD_LIMIT texts per FLOOD_WINDOW_SECONDS its texts are
kept but not answered, with one short notice per window. An opt-out still works, and a bot that
answers every reply falls silent by itself.

Signed posts through the real Flask app (and, where the clock matters, the same turn with a
given time), on SQLite and, with TEST_DATABASE_URL, PostgreSQL. Nothing is mocked.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.app import create_app
from bot.channels import is_gsm7, segments
from bot.config import Config
from bot.engine import Flood, InboundMessage
from bot.inbound import TurnSettings, receive
from storage.models import ReceivedMessage, utcnow
from tests.conftest import AUTH_TOKEN, inbound_params, signed_post
from tests.factories import resident
from tests.webhooks.test_webhook import INBOUND, PHONE, messages, onboard_by_webhook, reply, say

Sessions = sessionmaker[Session]

LIMIT = 8  # small enough to reach quickly, above the four texts of a sign-up
NOTICE_ES = "Recibimos muchos mensajes seguidos"
NOTICE_AY = "Walja mensajenakam katuqapxta"
OPTED_OUT = "no le enviaremos mas mensajes"  # SMS folds the accent of "más"
AUTORESPONDER = "Gracias por su mensaje. Le responderemos a la brevedad."


@pytest.fixture
def flood_app(config: Config) -> Iterator[Flask]:
    """The app with a limit of LIMIT texts a minute per phone."""
    application = create_app(replace(config, flood_limit=LIMIT, flood_window_seconds=60))
    application.testing = True
    yield application
    application.extensions["mibarrio"].engine.dispose()


@pytest.fixture
def client(flood_app: Flask) -> Any:
    return flood_app.test_client()


def stored(sessions: Sessions, phone: str = PHONE) -> list[ReceivedMessage]:
    """The phone's message rows, oldest first."""
    resident_id = resident(sessions, phone).id
    with sessions() as session:
        query = select(ReceivedMessage).where(ReceivedMessage.resident_id == resident_id)
        return list(session.scalars(query.order_by(ReceivedMessage.id)))


def up_to_the_limit(client: Any, phone: str = PHONE) -> None:
    """Menu texts until the phone has sent LIMIT in this minute (after a sign-up of four)."""
    already = len(onboard_by_webhook(client, phone))
    for _ in range(LIMIT - already):
        assert "Menu:" in reply(say(client, "menu", phone))


# --- kept, unanswered, one notice ----------------------------------------------------------------


def test_texts_past_the_limit_are_kept_unanswered_after_one_notice_in_both_languages(
    client: Any, sessions: Sessions
) -> None:
    bodies = [f"hola, {word}" for word in "abcdefghijklmnopqrstuvwxyz"[: LIMIT + 10]]
    answers = [messages(say(client, body)) for body in bodies]

    assert all(len(texts) == 1 and texts[0].strip() for texts in answers[:LIMIT])
    # The first text past the limit: one notice, in both languages (no language chosen yet)...
    (notice,) = answers[LIMIT]
    assert NOTICE_ES in notice and NOTICE_AY in notice
    assert is_gsm7(notice) and segments(notice) == 1, (len(notice), notice)
    # ...and nothing for the rest: an empty TwiML answer costs nothing.
    assert answers[LIMIT + 1 :] == [[]] * 9
    # Every text is kept, with what it was answered.
    rows = stored(sessions)
    assert [row.body for row in rows] == bodies
    assert [row.replies for row in rows[LIMIT + 1 :]] == [[]] * 9
    assert rows[LIMIT].replies == [notice]


def test_a_resident_who_chose_a_language_gets_the_notice_in_it(
    client: Any, sessions: Sessions
) -> None:
    up_to_the_limit(client)
    notice = reply(say(client, "menu"))
    assert NOTICE_ES in notice and NOTICE_AY not in notice
    assert messages(say(client, "menu")) == []

    aymara = "+59171234568"
    for body in ("Hola", "2", "Sopocachi", "1") + ("menu",) * (LIMIT - 4):
        reply(say(client, body, aymara))
    notice = reply(say(client, "menu", aymara))
    assert NOTICE_AY in notice and NOTICE_ES not in notice
    assert segments(notice) == 1


def test_other_phones_are_answered_while_one_floods(client: Any) -> None:
    up_to_the_limit(client)
    for _ in range(5):
        say(client, "menu")
    assert "Bienvenido a Mi Barrio" in reply(say(client, "Hola", "+59171234568"))


def test_texts_arriving_at_once_get_exactly_the_limit_of_answers_and_one_notice(
    flood_app: Flask, sessions: Sessions
) -> None:
    up_to_the_limit(flood_app.test_client())
    extra = 12

    def post(_: int) -> list[str]:
        return messages(say(flood_app.test_client(), "menu"))

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(post, range(extra)))

    assert sorted(len(texts) for texts in answers) == [0] * (extra - 1) + [1]
    assert sum(NOTICE_ES in text for texts in answers for text in texts) == 1
    assert len(stored(sessions)) == LIMIT + extra


# --- what still works over the limit -------------------------------------------------------------


def test_an_opt_out_over_the_limit_is_applied_and_confirmed(
    client: Any, sessions: Sessions
) -> None:
    up_to_the_limit(client)
    assert NOTICE_ES in reply(say(client, "menu"))
    assert messages(say(client, "ayuda")) == []

    assert OPTED_OUT in reply(say(client, "BAJA"))
    row = resident(sessions)
    assert row.status == "opted_out" and row.opted_out_at is not None
    # Opted out and still over the limit: nothing more is sent, a repeated STOP included.
    assert messages(say(client, "hola")) == []
    assert messages(say(client, "STOP")) == []


def test_a_repeated_message_sid_is_answered_as_it_was_the_first_time(
    client: Any, sessions: Sessions
) -> None:
    answered = inbound_params("ayuda")
    first = reply(signed_post(client, INBOUND, answered))
    for _ in range(LIMIT - 1):
        say(client, "menu")
    noticed, silenced = inbound_params("menu"), inbound_params("menu")
    notice = reply(signed_post(client, INBOUND, noticed))
    assert messages(signed_post(client, INBOUND, silenced)) == []
    assert NOTICE_ES in notice

    # Twilio retries all three while the phone is still over the limit.
    assert reply(signed_post(client, INBOUND, answered)) == first
    assert reply(signed_post(client, INBOUND, noticed)) == notice
    assert messages(signed_post(client, INBOUND, silenced)) == []
    assert len(stored(sessions)) == LIMIT + 2  # retries add no rows


# --- the window passes ---------------------------------------------------------------------------


def test_answers_resume_when_the_window_has_passed_and_each_window_has_its_notice(
    sessions: Sessions,
) -> None:
    """The webhook's own turn, given the time of each text."""
    settings = TurnSettings(flood=Flood(LIMIT, timedelta(seconds=60)))

    def text(body: str, at: datetime) -> list[str]:
        msg = InboundMessage(phone=PHONE, channel="sms", body=body)
        return receive(sessions, "SM" + uuid.uuid4().hex, msg, settings, now=at)

    def flood(start: datetime) -> list[list[str]]:
        return [text("hola", start + timedelta(seconds=n)) for n in range(LIMIT + 5)]

    start = utcnow()
    first = flood(start)
    assert all(first[:LIMIT]) and NOTICE_ES in first[LIMIT][0] and first[LIMIT + 1 :] == [[]] * 4
    # Still inside the minute of the last text: silent.
    assert text("menu", start + timedelta(seconds=LIMIT + 30)) == []

    later = start + timedelta(minutes=3)
    assert text("hola", later), "answers resume once the window has passed"
    again = flood(later + timedelta(seconds=1))
    # The new window counts the text above too: one answer fewer, then one notice again.
    assert all(again[: LIMIT - 1]) and NOTICE_ES in again[LIMIT - 1][0]
    assert again[LIMIT:] == [[]] * 5


# --- bots answering bots -------------------------------------------------------------------------


@pytest.mark.parametrize("their_answer", [AUTORESPONDER, "STOP"], ids=["autoresponder", "stop"])
def test_a_bot_answering_every_reply_falls_silent_by_itself(
    config: Config, sessions: Sessions, their_answer: str
) -> None:
    """Another service's autoresponder (or one that says STOP to everything) writes to the bot
    and answers whatever comes back, at once. With the default limit the loop ends."""
    defaults = Config()
    assert (defaults.flood_limit, defaults.flood_window_seconds) == (20, 60.0)
    application = create_app(
        replace(
            config,
            flood_limit=defaults.flood_limit,
            flood_window_seconds=defaults.flood_window_seconds,
        )
    )
    client = application.test_client()
    bot = "+59178000000"
    sent, answered = 0, 0
    try:
        while sent < 200:
            sent += 1
            if not messages(say(client, their_answer, bot)):
                break
            answered += 1
    finally:
        application.extensions["mibarrio"].engine.dispose()
    # Twenty answers, one notice, then silence: the other bot has nothing left to answer.
    assert (sent, answered) == (defaults.flood_limit + 2, defaults.flood_limit + 1)
    assert len(stored(sessions, bot)) == sent


# --- configuration -------------------------------------------------------------------------------


@pytest.fixture
def env_app(monkeypatch: pytest.MonkeyPatch, db_url: str) -> Iterator[Any]:
    """create_app() as gunicorn calls it, reading the environment the test sets."""
    apps: list[Flask] = []

    def make(**env: str) -> Any:
        for name in ("FLOOD_LIMIT", "FLOOD_WINDOW_SECONDS"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("DATABASE_URL", db_url)
        monkeypatch.setenv("TWILIO_AUTH_TOKEN", AUTH_TOKEN)
        monkeypatch.setenv("SECRET_KEY", "test")
        monkeypatch.delenv("PUBLIC_URL", raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        apps.append(create_app())
        return apps[-1].test_client()

    yield make
    for application in apps:
        application.extensions["mibarrio"].engine.dispose()


def test_flood_limit_from_the_environment_and_zero_turns_it_off(env_app: Any) -> None:
    client = env_app(FLOOD_LIMIT="2")
    reply(say(client, "hola"))
    reply(say(client, "hola"))
    assert NOTICE_ES in reply(say(client, "hola"))

    client = env_app(FLOOD_LIMIT="0")
    for _ in range(25):
        assert NOTICE_ES not in reply(say(client, "hola", "+59171234569"))


def test_a_flood_limit_that_is_not_a_number_is_refused_at_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", AUTH_TOKEN)
    monkeypatch.setenv("SECRET_KEY", "test")
    monkeypatch.setenv("FLOOD_LIMIT", "veinte")
    with pytest.raises(ValueError, match="FLOOD_LIMIT"):
        Config.from_env()
