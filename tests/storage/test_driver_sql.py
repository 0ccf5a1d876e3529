"""Fixed statements sent as driver SQL: the same values as SQLAlchemy's own execution."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import bindparam, func, insert, literal, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from storage.db import transaction
from storage.driver_sql import driver_statement, process_row, row_processors
from storage.models import ReceivedMessage

Sessions = sessionmaker[Session]
MESSAGES = ReceivedMessage.__table__

INSERT = insert(MESSAGES).values(
    sid=bindparam("sid"),
    channel=bindparam("channel"),
    body=bindparam("body"),
    num_media=0,  # a value the statement carries itself
    replies=bindparam("replies"),
    received_at=bindparam("at"),
)


def test_a_driver_statement_stores_what_core_stores(sessions: Sessions) -> None:
    at = datetime(2026, 11, 23, 9, 15, 0, 250000, tzinfo=UTC)
    values = {"channel": "sms", "body": "Hola ñandú", "replies": ["uno", "dos"], "at": at}
    with transaction(sessions) as session:
        conn = session.connection()
        driver_statement(INSERT, conn.dialect).execute(conn, {"sid": "SM-driver", **values})
        conn.execute(INSERT, {"sid": "SM-core", **values})
    with sessions() as session:
        rows = {
            m.sid: (m.channel, m.body, m.num_media, m.replies, m.received_at)
            for m in session.scalars(select(ReceivedMessage))
        }
    assert rows["SM-driver"] == rows["SM-core"]
    assert rows["SM-driver"][1:4] == ("Hola ñandú", 0, ["uno", "dos"])


def test_rows_read_as_driver_sql_convert_like_a_typed_result(sessions: Sessions) -> None:
    with transaction(sessions) as session:
        conn = session.connection()
        conn.execute(
            INSERT,
            {
                "sid": "SM-r",
                "channel": "whatsapp",
                "body": None,
                "replies": None,
                "at": datetime.now(UTC),
            },
        )
        columns = [MESSAGES.c.replies, MESSAGES.c.received_at, MESSAGES.c.body]
        query = select(*columns).where(MESSAGES.c.sid == bindparam("sid"))
        typed = conn.execute(query, {"sid": "SM-r"}).one()
        statement = driver_statement(query, conn.dialect)
        raw = statement.execute(conn, {"sid": "SM-r"}).one()
        converted = process_row(row_processors(columns, conn.dialect), raw)
    assert converted == list(typed)
    assert [type(v) for v in converted] == [type(v) for v in typed]


def test_a_repeated_key_raises_the_same_error_as_core(sessions: Sessions) -> None:
    values = {
        "sid": "SM-twice",
        "channel": "sms",
        "body": "x",
        "replies": [],
        "at": datetime.now(UTC),
    }
    with transaction(sessions) as session:
        conn = session.connection()
        driver_statement(INSERT, conn.dialect).execute(conn, values)
    with pytest.raises(IntegrityError), transaction(sessions) as session:
        conn = session.connection()
        driver_statement(INSERT, conn.dialect).execute(conn, values)


def test_a_statement_it_cannot_send_as_it_is_is_refused(sessions: Sessions) -> None:
    with sessions() as session:
        dialect = session.connection().dialect
    expanding = select(MESSAGES.c.id).where(MESSAGES.c.sid.in_(bindparam("sids", expanding=True)))
    with pytest.raises(ValueError, match="expanding"):
        driver_statement(expanding, dialect)
    computed = select(bindparam("now", callable_=lambda: datetime.now(UTC)))
    with pytest.raises(ValueError, match="computes"):
        driver_statement(computed, dialect)


def test_values_the_statement_carries_are_sent_with_it(sessions: Sessions) -> None:
    query = select(func.upper(literal("abc")), func.length(bindparam("s")))
    with sessions() as session:
        conn = session.connection()
        assert tuple(driver_statement(query, conn.dialect).execute(conn, {"s": "ñandú"}).one()) == (
            "ABC",
            5,
        )
