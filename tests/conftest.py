"""Fixtures: real SQLite (and PostgreSQL when TEST_DATABASE_URL is set), real Redis, real Flask.

Redis is REDIS_URL when set (CI: the machine's server), else an embedded redis-server.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from rq import Queue
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from twilio.request_validator import RequestValidator

from bot.app import create_app
from bot.config import Config
from bot.engine import InboundMessage
from bot.inbound import receive
from storage.db import make_engine, make_sessionmaker, normalize_url, transaction
from storage.migrate import upgrade
from storage.models import Base
from storage.seed import seed_zones
from tests.twilio_local import TwilioLocal

AUTH_TOKEN = "test-auth-token"
BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated, seeded SQLite file copied for each test (migrating each time is slow)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    engine = make_engine(url)
    with transaction(make_sessionmaker(engine)) as session:
        seed_zones(session)
    engine.dispose()
    return path


@contextmanager
def own_pg_database(prefix: str = "mibarrio_test") -> Iterator[str]:
    """An empty database of its own on the TEST_DATABASE_URL server (its URL), dropped after.

    Concurrent runs (several developers, CI) never wipe each other's tables.
    """
    admin_url = make_url(normalize_url(os.environ["TEST_DATABASE_URL"]))
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = make_engine(
        admin_url.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A migrated database of this run's own on the TEST_DATABASE_URL server."""
    with own_pg_database() as url:
        upgrade(url)
        yield url


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "mibarrio.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("pg_url")
    engine = make_engine(url)
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    with transaction(make_sessionmaker(engine)) as session:
        seed_zones(session)
    engine.dispose()
    return url


@pytest.fixture(autouse=True)
def _no_remembered_evidence() -> Iterator[None]:
    """Evidence figures remembered per rollup refresh (bot/evidence/memo.py) live in the
    process: two tests with the same database address and refresh moment must not share them."""
    from bot.evidence import memo

    memo.forget()
    yield
    memo.forget()


@pytest.fixture
def config(db_url: str, tmp_path: Path) -> Config:
    return Config(
        database_url=db_url,
        twilio_auth_token=AUTH_TOKEN,
        secret_key="test",
        send_rate=0,
    )


@pytest.fixture
def sessions(config: Config) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(config.database_url)
    yield make_sessionmaker(engine)
    engine.dispose()


@pytest.fixture
def app(config: Config) -> Iterator[Any]:
    application = create_app(config)
    application.testing = True
    yield application
    application.extensions["mibarrio"].engine.dispose()


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


def sign(url: str, params: dict[str, str], token: str = AUTH_TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, params)


def signed_post(client: Any, path: str, params: dict[str, str], **kwargs: Any) -> Any:
    """POST a form to the app the way Twilio does, with a valid X-Twilio-Signature."""
    url = "http://localhost" + path
    headers = {"X-Twilio-Signature": sign(url, params), **kwargs.pop("headers", {})}
    return client.post(path, data=params, headers=headers, **kwargs)


def inbound_params(
    body: str,
    phone: str = "+59171234567",
    *,
    channel: str = "sms",
    sid: str | None = None,
    **extra: str,
) -> dict[str, str]:
    prefix = "whatsapp:" if channel == "whatsapp" else ""
    return {
        "MessageSid": sid or "SM" + uuid.uuid4().hex,
        "AccountSid": "AC" + "0" * 32,
        "From": prefix + phone,
        "To": prefix + "+59122000000",
        "Body": body,
        "NumMedia": "0",
        "SmsStatus": "received",
        "ApiVersion": "2010-04-01",
        **extra,
    }


@dataclass
class Chat:
    """One resident talking to the engine, no Flask: say() returns the reply text."""

    sessions: sessionmaker[Session]
    phone: str = "+59171234567"
    channel: str = "sms"
    now: datetime | None = None
    log: list[tuple[str, str]] = field(default_factory=list)

    def say(self, text: str) -> str:
        replies = receive(
            self.sessions,
            "SM" + uuid.uuid4().hex,
            InboundMessage(phone=self.phone, channel=self.channel, body=text),
            now=self.now,
        )
        reply = "\n".join(replies)
        self.log.append((text, reply))
        return reply

    def later(self, minutes: float) -> None:
        from storage.models import utcnow

        self.now = (self.now or utcnow()) + timedelta(minutes=minutes)


@pytest.fixture
def chat(sessions: sessionmaker[Session]) -> Chat:
    return Chat(sessions)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = os.environ.get("REDIS_URL")
    if url:
        # The suite flushes the database it uses. One named in REDIS_URL (redis://host/7) is
        # used as given, so people sharing a server can each keep to their own; with none (or
        # 0, the default), a database number of this run's own (1-15), so that concurrent CI
        # runs do not flush each other's queues.
        import random

        named = make_url(url).database
        if named and named != "0":
            yield url
            return
        yield str(make_url(url).set(database=str(random.randint(1, 15))))
        return
    from worker.queues import EmbeddedRedis

    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"))
    yield server.start()
    server.stop()


@pytest.fixture
def redis_conn(redis_url: str) -> Iterator[redis.Redis]:
    conn = redis.Redis.from_url(redis_url)
    conn.flushdb()
    yield conn
    conn.flushdb()
    conn.close()


@pytest.fixture
def q(redis_conn: redis.Redis) -> Queue:
    from worker.queues import queue

    return queue(redis_conn)


@pytest.fixture
def local_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """The twilio client must talk to 127.0.0.1 as is: no edge/region rewriting, no proxy.

    Modules that talk to the local Twilio server use it for every test (pytestmark).
    """
    monkeypatch.delenv("TWILIO_EDGE", raising=False)
    monkeypatch.delenv("TWILIO_REGION", raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


@pytest.fixture
def tw() -> Iterator[TwilioLocal]:
    """Twilio's REST API on 127.0.0.1 (tests/twilio_local.py)."""
    with TwilioLocal(delay=0.0) as server:
        yield server
