"""Texts from one phone arriving at the same moment never corrupt a conversation.

Real threads against real databases (SQLite and, with TEST_DATABASE_URL, PostgreSQL): the engine
is called through bot.inbound.receive, the same transaction the webhook uses, and once through
the Flask app. Nothing is mocked.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from bot.engine import InboundMessage, handle_inbound
from bot.flows import FLOWS
from bot.inbound import receive
from storage.db import is_sqlite
from storage.models import Conversation, ReceivedMessage, Resident
from tests.conftest import Chat, inbound_params, signed_post
from tests.factories import onboard

PHONE = "+59171234567"
WORKERS = 8

Sessions = sessionmaker[Session]


def new_sid() -> str:
    return "SM" + uuid.uuid4().hex


def at_once(fn: Callable[..., Any], calls: list[tuple[Any, ...]]) -> list[Any]:
    """Run fn(*args) for every call on WORKERS threads; every thread must finish cleanly."""
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        futures = [pool.submit(fn, *args) for args in calls]
        errors = [f.exception(timeout=30) for f in futures]
        assert errors == [None] * len(calls), [e for e in errors if e]
        return [f.result() for f in futures]


def text_in(sessions: Sessions, body: str, sid: str | None = None, phone: str = PHONE) -> list[str]:
    msg = InboundMessage(phone=phone, channel="sms", body=body)
    return receive(sessions, sid or new_sid(), msg)


def count(sessions: Sessions, model: type, *where: Any) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def state(sessions: Sessions, phone: str = PHONE) -> tuple[Resident, Conversation]:
    with sessions() as session:
        residents = list(session.scalars(select(Resident).where(Resident.phone == phone)))
        assert len(residents) == 1, f"{len(residents)} residents for {phone}"
        conv = session.get(Conversation, residents[0].id)
        assert conv is not None, "a resident without a conversation"
        return residents[0], conv


def assert_valid_step(conv: Conversation) -> None:
    if conv.flow is None:
        assert conv.step is None
        return
    assert conv.flow in FLOWS, conv.flow
    assert conv.step in FLOWS[conv.flow].steps, (conv.flow, conv.step)


def test_eight_texts_at_once_from_a_new_phone_make_one_resident(sessions: Sessions) -> None:
    # One "1" only: whatever the order, onboarding cannot finish, nor be declined.
    bodies = ["Hola", "hola", "1", "Sopocachi", "ayuda", "menu", "😀", "idioma"]
    sids = [new_sid() for _ in bodies]
    replies = at_once(
        text_in, [(sessions, body, sid) for body, sid in zip(bodies, sids, strict=True)]
    )

    assert all(r and r[0].strip() for r in replies), replies
    assert any("Bienvenido a Mi Barrio" in r[0] for r in replies)
    assert count(sessions, Resident) == 1
    resident, conv = state(sessions)
    assert count(sessions, ReceivedMessage, ReceivedMessage.resident_id == resident.id) == 8
    with sessions() as session:
        stored = set(session.scalars(select(ReceivedMessage.sid)))
    assert stored == set(sids)
    assert resident.status == "onboarding" and resident.consent_at is None
    assert resident.language in (None, "es")
    assert conv.flow == "onboarding"
    assert_valid_step(conv)


def test_one_message_delivered_eight_times_at_once_is_applied_once(sessions: Sessions) -> None:
    text_in(sessions, "Hola")
    sid = new_sid()
    replies = at_once(text_in, [(sessions, "1", sid)] * WORKERS)

    assert replies[0] and "zona" in replies[0][0].lower()
    assert replies == [replies[0]] * WORKERS
    assert count(sessions, ReceivedMessage, ReceivedMessage.sid == sid) == 1
    resident, conv = state(sessions)
    assert resident.language == "es"
    # A second "1" applied at the zona question would have moved past it.
    assert (conv.flow, conv.step) == ("onboarding", "zone")


def test_twenty_texts_at_once_from_a_signed_up_resident(sessions: Sessions, chat: Chat) -> None:
    assert "Menu:" in onboard(chat).log[-1][1]
    bodies = ["menu", "ayuda", "idioma", "1", "hola"] * 4
    sids = [new_sid() for _ in bodies]
    replies = at_once(
        text_in, [(sessions, body, sid) for body, sid in zip(bodies, sids, strict=True)]
    )

    assert all(r and r[0].strip() for r in replies), replies
    assert count(sessions, ReceivedMessage, ReceivedMessage.sid.in_(sids)) == 20
    assert count(sessions, Resident) == 1
    resident, conv = state(sessions)
    assert resident.status == "active" and resident.consent_at is not None
    assert resident.language == "es"  # nobody chose anything but 1 (Spanish)
    assert resident.zone_id is not None
    assert_valid_step(conv)
    # ...and the conversation carries on.
    assert "Menu:" in chat.say("menu")


def test_sixteen_residents_writing_at_once_through_the_webhook(
    app: Flask, sessions: Sessions
) -> None:
    phones = [f"+5917{i:07d}" for i in range(1, 17)]

    def post(phone: str) -> tuple[int, str]:
        resp = signed_post(app.test_client(), "/twilio/inbound", inbound_params("Hola", phone))
        return resp.status_code, resp.get_data(as_text=True)

    results = at_once(post, [(phone,) for phone in phones])
    assert [status for status, _ in results] == [200] * 16
    assert all("Bienvenido a Mi Barrio" in body for _, body in results)
    assert count(sessions, Resident) == 16
    assert count(sessions, ReceivedMessage) == 16


def test_sixteen_texts_at_once_from_one_phone_through_the_webhook(
    app: Flask, sessions: Sessions
) -> None:
    bodies = ["Hola", "menu", "ayuda", "😀"] * 4

    def post(body: str) -> int:
        resp = signed_post(app.test_client(), "/twilio/inbound", inbound_params(body))
        return int(resp.status_code)

    assert at_once(post, [(body,) for body in bodies]) == [200] * 16
    assert count(sessions, Resident) == 1
    assert count(sessions, ReceivedMessage) == 16
    assert_valid_step(state(sessions)[1])


# --- a text arriving while the previous one removes the resident --------------------------------


def wait_until_blocked_by(holder: Session) -> None:
    """Until another transaction waits for holder's locks (PostgreSQL), or a moment (SQLite)."""
    engine = holder.get_bind()
    assert isinstance(engine, Engine)
    if is_sqlite(engine):
        time.sleep(0.3)  # BEGIN IMMEDIATE: the other thread waits for the whole transaction
        return
    holder_pid = holder.scalar(text("SELECT pg_backend_pid()"))
    waiting = text("SELECT count(*) FROM pg_stat_activity WHERE :pid = ANY(pg_blocking_pids(pid))")
    deadline = time.monotonic() + 5
    with engine.connect() as conn:
        while not conn.execute(waiting, {"pid": holder_pid}).scalar_one():
            assert time.monotonic() < deadline, "the second text never waited for the lock"
            time.sleep(0.02)
            conn.rollback()


@pytest.mark.parametrize(
    "setup, last",
    [
        (["Hola", "1", "Sopocachi"], "2"),  # declines consent: the row is deleted
        (["Hola", "1", "Sopocachi", "1", "borrar"], "1"),  # erases their data: phone removed
    ],
    ids=["declines-consent", "erases-data"],
)
def test_a_text_arriving_while_the_resident_is_being_removed_starts_afresh(
    sessions: Sessions, chat: Chat, setup: list[str], last: str
) -> None:
    for body in setup:
        chat.say(body)
    with sessions() as holder, holder.begin():
        # The first text is being handled: the resident's row is locked and removed...
        handle_inbound(holder, InboundMessage(phone=PHONE, channel="sms", body=last))
        with ThreadPoolExecutor(max_workers=1) as pool:
            # ...when the second one arrives and waits for that row.
            second = pool.submit(text_in, sessions, "Hola")
            wait_until_blocked_by(holder)
            holder.commit()
            replies = second.result(timeout=30)

    assert replies and "Bienvenido a Mi Barrio" in replies[0]
    resident, conv = state(sessions)
    assert resident.status == "onboarding" and resident.consent_at is None
    assert (conv.flow, conv.step) == ("onboarding", "language")
