"""The database server dropping the app's connections (a restart, a failover) between texts:
the next text is still answered, once, on a new connection."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from storage.db import make_engine
from storage.models import ReceivedMessage, Resident
from tests.conftest import BACKENDS, inbound_params, signed_post

pytestmark = [
    pytest.mark.parametrize("db_url", [b for b in BACKENDS if b == "postgresql"], indirect=True),
    pytest.mark.slow,  # the server drops every connection, as a restart would
]


def drop_app_connections(db_url: str) -> int:
    """Terminate every other backend on the test database, as a server restart would."""
    engine = make_engine(db_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            return len(
                conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                ).all()
            )
    finally:
        engine.dispose()


def test_a_text_after_the_server_dropped_the_connection_is_answered_once(
    client: Any, db_url: str, sessions: sessionmaker[Session]
) -> None:
    first = signed_post(client, "/twilio/inbound", inbound_params("hola"))
    assert first.status_code == 200 and "1 Español" in first.get_data(as_text=True)
    assert drop_app_connections(db_url) >= 1  # the app's pooled connection, at least

    params = inbound_params("1")
    second = signed_post(client, "/twilio/inbound", params)
    assert second.status_code == 200
    assert "zona" in second.get_data(as_text=True)  # the language step was applied
    with sessions() as session:
        resident = session.scalars(select(Resident).where(Resident.phone == "+59171234567")).one()
        assert resident.language == "es"
        count = select(func.count()).where(ReceivedMessage.sid == params["MessageSid"])
        assert session.scalar(count) == 1
