"""ASYNC_NAVIGATION_COMMITS: on PostgreSQL, turns that only move through menus commit without
waiting for the WAL flush; every turn that records something stays durable."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker

from bot.engine import InboundMessage
from bot.inbound import receive
from storage.models import ReceivedMessage
from tests.conftest import BACKENDS, Chat
from tests.factories import onboard, report

pytestmark = pytest.mark.parametrize(
    "db_url", [b for b in BACKENDS if b == "postgresql"], indirect=True
)


@pytest.fixture
def commits(sessions: sessionmaker[Session]) -> Iterator[list[str]]:
    """synchronous_commit as PostgreSQL will apply it, read as each transaction commits."""
    seen: list[str] = []
    engine = sessions.kw["bind"]

    def record(conn: object) -> None:
        raw = conn.connection.dbapi_connection  # type: ignore[attr-defined]
        seen.append(raw.execute("SHOW synchronous_commit").fetchone()[0])

    event.listen(engine, "commit", record)
    yield seen
    event.remove(engine, "commit", record)


@pytest.fixture
def signed_up(sessions: sessionmaker[Session]) -> Chat:
    """A signed-up resident's conversation, with asynchronous navigation commits on."""
    return onboard(Chat(sessions, async_navigation=True))


def test_moving_through_the_menus_commits_without_waiting_for_the_flush(
    signed_up: Chat, commits: list[str]
) -> None:
    for text in ("menu", "ayuda", "1", "menu", "0", "hola"):
        signed_up.say(text)
        assert commits[-1] == "off", text


def test_what_a_turn_records_is_committed_durably(
    sessions: sessionmaker[Session], signed_up: Chat, commits: list[str]
) -> None:
    newcomer = Chat(sessions, phone="+59171111111", async_navigation=True)
    newcomer.say("hola")  # a new resident's row
    assert commits[-1] == "on"
    newcomer.say("1")  # language
    assert commits[-1] == "on"
    newcomer.say("Sopocachi")  # zona
    assert commits[-1] == "on"
    newcomer.say("1")  # consent
    assert commits[-1] == "on"

    code = report(signed_up)  # the report row
    assert code and commits[-1] == "on"
    signed_up.say("idioma")
    signed_up.say("2")  # another language
    assert commits[-1] == "on"
    signed_up.say("BAJA")  # the opt-out
    assert commits[-1] == "on"


def test_without_the_setting_every_turn_is_durable(
    sessions: sessionmaker[Session], commits: list[str]
) -> None:
    chat = onboard(Chat(sessions))
    chat.say("menu")
    assert commits[-1] == "on"


def test_an_asynchronous_turn_stores_its_message_row_whole(
    sessions: sessionmaker[Session], signed_up: Chat, commits: list[str]
) -> None:
    msg = InboundMessage(
        phone=signed_up.phone, channel="sms", body="menu", media=["https://x.test/1.jpg"]
    )
    replies = receive(sessions, "SMasync1", msg, async_navigation=True)
    assert commits[-1] == "off"
    assert receive(sessions, "SMasync1", msg, async_navigation=True) == replies  # deduped
    with sessions() as session:
        row = session.scalars(select(ReceivedMessage).filter_by(sid="SMasync1")).one()
        assert (row.body, row.num_media, row.replies) == ("menu", 1, replies)
