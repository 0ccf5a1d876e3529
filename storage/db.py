"""Engine and session setup for SQLite (default) and PostgreSQL (production).

`Session` is re-exported for code that takes a session but must not import SQLAlchemy
(the flows: they reach data through storage functions).
"""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar, cast

from sqlalchemy import Engine, Insert, Table, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

log = logging.getLogger(__name__)

T = TypeVar("T")


def is_sqlite(engine_or_url: Engine | str) -> bool:
    url = engine_or_url.url if isinstance(engine_or_url, Engine) else make_url(engine_or_url)
    return url.get_backend_name() == "sqlite"


def normalize_url(url: str) -> str:
    """Use psycopg 3 for plain postgresql:// URLs (Heroku-style postgres:// too)."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def make_engine(url: str, *, threads: int | None = None, **kwargs: Any) -> Engine:
    """Create an engine; SQLite gets WAL, a busy timeout and writer-serialising transactions.

    threads: how many threads may use the engine at once (a web process's gunicorn threads).
    The pool then keeps a connection for each of them. Past pool_size (5 by default) a thread
    would open a connection for each request and close it after, and past pool_size +
    max_overflow (15) it would wait for another thread's. An in-memory SQLite database has a
    connection per thread anyway.
    """
    url = normalize_url(url)
    database = make_url(url).database
    if threads is not None and not (is_sqlite(url) and database in (None, "", ":memory:")):
        kwargs.setdefault("pool_size", threads)
    if is_sqlite(url):
        connect_args: dict[str, Any] = {"timeout": 30}
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
            connect_args["factory"] = _queued_writer_connection(Path(database + ".lock"))
        engine = create_engine(url, connect_args=connect_args, **kwargs)
        _serialise_sqlite_writers(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def _queued_writer_connection(lock_path: Path) -> type[sqlite3.Connection]:
    """sqlite3 connections that queue for the write lock in the kernel, not by polling.

    Measured need (docs/benchmarks.md): with every transaction taking SQLite's write lock at
    BEGIN, a waiting writer retries on SQLite's sleep schedule (1, 2, 5 ... 100 ms), so at 300
    texts/s two web workers mostly slept while the lock was free, and the paced p99 went to
    seconds. An flock on a file beside the database wakes the next writer the moment the
    previous one commits, across threads and processes (each connection opens its own file).
    """

    class QueuedWriterConnection(sqlite3.Connection):
        _lock_fd: int | None = None

        def lock_for_writing(self) -> None:
            if self._lock_fd is None:
                self._lock_fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX)

        def _unlock(self) -> None:
            if self._lock_fd is not None:
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

        def commit(self) -> None:
            try:
                super().commit()
            finally:
                self._unlock()

        def rollback(self) -> None:
            try:
                super().rollback()
            finally:
                self._unlock()

        def close(self) -> None:
            try:
                super().close()
            finally:
                if self._lock_fd is not None:
                    os.close(self._lock_fd)  # closing the file drops any lock it held
                    self._lock_fd = None

    return QueuedWriterConnection


def _serialise_sqlite_writers(engine: Engine) -> None:
    """Make every SQLite transaction BEGIN IMMEDIATE.

    pysqlite's default deferred transactions let two readers both try to upgrade to a writer,
    and one then fails with "database is locked" without waiting. Taking the write lock at
    BEGIN makes transactions queue instead (busy_timeout): one phone's texts, and everybody
    else's, are applied one after the other. WAL lets readers go on meanwhile.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        dbapi_conn = conn.connection.dbapi_connection
        lock = getattr(dbapi_conn, "lock_for_writing", None)
        if lock is not None:
            lock()
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            dbapi_conn.rollback()  # releases the queue's lock
            raise


def retry_on_disconnect(work: Callable[[], T], attempts: int = 2) -> T:
    """Run a unit of work again when the database connection turned out to be dead.

    Instead of pinging before every checkout (a round trip per request), a connection the
    server dropped is noticed when used; SQLAlchemy invalidates it and the whole unit of work
    (its transaction rolled back) runs once more on a fresh one.
    """
    for attempt in range(1, attempts + 1):
        try:
            return work()
        except DBAPIError as exc:
            if not exc.connection_invalidated or attempt == attempts:
                raise
            log.warning("database connection lost; retrying on a new one")
    raise AssertionError("unreachable")


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    with factory() as session:
        with session.begin():
            yield session


class InsertIgnoringConflicts(Insert):
    """INSERT ... ON CONFLICT DO NOTHING, spelled the same on SQLite (3.24+) and PostgreSQL.

    The dialects' own `on_conflict_do_nothing()` statements are never cached, so each use
    was compiled anew (about a millisecond, on every new phone's first text). This one is
    an ordinary INSERT to SQLAlchemy's statement cache, compiled once per shape: the clause
    goes where the dialects put theirs (after VALUES or the SELECT, before RETURNING).
    """

    inherit_cache = True
    _post_values_clause = text("ON CONFLICT DO NOTHING")


def insert_ignoring_conflicts(model: type[DeclarativeBase]) -> InsertIgnoringConflicts:
    """INSERT ... ON CONFLICT DO NOTHING into model, for .values() or .from_select().

    A row that would break a unique constraint is skipped instead of failing the
    transaction. Column defaults apply as to any INSERT. SQLite needs a WHERE in the SELECT
    of .from_select() (WHERE true will do) to parse the statement.
    """
    return InsertIgnoringConflicts(cast(Table, model.__table__))


__all__ = [
    "Session",
    "insert_ignoring_conflicts",
    "is_sqlite",
    "make_engine",
    "make_sessionmaker",
    "normalize_url",
    "retry_on_disconnect",
    "transaction",
]
