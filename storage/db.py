"""Engine and session setup for SQLite (default) and PostgreSQL (production)."""

from __future__ import annotations

import fcntl
import functools
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


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine; SQLite gets WAL, a busy timeout and writer-serialising transactions."""
    url = normalize_url(url)
    if is_sqlite(url):
        database = make_url(url).database
        connect_args: dict[str, Any] = {"timeout": 30}
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
            connect_args["factory"] = _writer_lock_factory(Path(database + ".lock"))
        engine = create_engine(url, connect_args=connect_args, **kwargs)
        _serialise_sqlite_writers(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("connect_args", {}).setdefault("cursor_factory", _write_counting_cursor())
    return create_engine(url, **kwargs)


@functools.cache
def _write_counting_cursor() -> type:
    """psycopg cursors that count the statements other than SELECT sent on their connection."""
    import psycopg

    class WriteCountingCursor(psycopg.Cursor):  # type: ignore[type-arg]
        def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
            _count_write(self.connection, query)
            return super().execute(query, params, **kwargs)

        def executemany(self, query: Any, params_seq: Any, **kwargs: Any) -> Any:
            _count_write(self.connection, query)
            return super().executemany(query, params_seq, **kwargs)

    return WriteCountingCursor


_WRITES = "mibarrio_writes"


def _count_write(connection: Any, query: Any) -> None:
    if not (isinstance(query, str) and _is_read(query)):
        setattr(connection, _WRITES, getattr(connection, _WRITES, 0) + 1)


def writes_sent(session: Session) -> int | None:
    """Statements other than SELECT sent so far on the session's PostgreSQL connection (None
    on SQLite): two readings tell whether a transaction wrote anything in between."""
    conn = session.connection()
    if conn.dialect.name != "postgresql":
        return None
    return int(getattr(conn.connection.dbapi_connection, _WRITES, 0))


# Execution option for a session's connection: on SQLite, read without the write lock and
# take it at the transaction's first write (see WriterLockConnection.defer_writes).
DEFER_WRITE_LOCK = "mibarrio_defer_write_lock"


class StaleRead(Exception):
    """Rows a transaction read before taking the write lock changed before it got the lock."""


def _writer_lock_factory(lock_path: Path) -> type[sqlite3.Connection]:
    """sqlite3 connections that queue for the write lock in the kernel, not by polling.

    SQLite makes a second writer retry on a sleep schedule (1, 2, 5 ... 100 ms) while the
    first holds the lock, so under load a waiter often sleeps long after the lock is free.
    An flock on a file beside the database wakes the next writer the moment the previous
    one commits, across threads and processes alike (each connection has its own file).
    """

    class WriterLockConnection(sqlite3.Connection):
        _lock_fd: int | None = None
        # A deferred transaction: reads so far, no BEGIN yet; checks to run once locked.
        deferred = False
        _checks: tuple[Callable[[sqlite3.Connection], None], ...] = ()

        def acquire_writer_lock(self) -> None:
            if self._lock_fd is None:
                self._lock_fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX)

        def defer_writes(self) -> None:
            """Start a transaction that reads (WAL: the latest commit, without waiting) until
            its first write, which takes the lock and BEGINs, then runs the checks added by
            check_when_locked: what was read before may have changed by then."""
            self.deferred, self._checks = True, ()

        def check_when_locked(self, check: Callable[[sqlite3.Connection], None]) -> None:
            """Run `check` once the lock is taken (nothing to check when it already is)."""
            if self.deferred:
                self._checks = (*self._checks, check)

        def start_writing(self) -> None:
            """The deferred transaction's first write: lock, BEGIN IMMEDIATE, checks."""
            self.deferred = False
            self.acquire_writer_lock()
            try:
                self.execute("BEGIN IMMEDIATE")
            except BaseException:
                self._release()
                raise
            checks, self._checks = self._checks, ()
            for check in checks:
                check(self)  # raises StaleRead; the caller's rollback releases the lock

        def _release(self) -> None:
            self.deferred, self._checks = False, ()
            if self._lock_fd is not None:
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

        def commit(self) -> None:
            try:
                super().commit()
            finally:
                self._release()

        def rollback(self) -> None:
            try:
                super().rollback()
            finally:
                self._release()

        def close(self) -> None:
            try:
                super().close()
            finally:
                if self._lock_fd is not None:
                    os.close(self._lock_fd)  # closing the file drops any lock it held
                    self._lock_fd = None

    return WriterLockConnection


def _serialise_sqlite_writers(engine: Engine) -> None:
    """Make every SQLite transaction BEGIN IMMEDIATE (after the writer lock, when there is one).

    pysqlite's default deferred transactions let two readers both try to upgrade to a writer,
    and one then fails with "database is locked" without waiting. Taking the write lock at
    BEGIN makes transactions queue instead: one phone's texts, and everybody else's, are
    applied one after the other.

    A connection with the DEFER_WRITE_LOCK execution option (the webhook's turn) takes the
    lock at its first statement that is not a SELECT instead, so its reads and the work
    between them hold nobody up; what it read is checked again under the lock.
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
        if conn.get_execution_options().get(DEFER_WRITE_LOCK) and hasattr(
            dbapi_conn, "defer_writes"
        ):
            dbapi_conn.defer_writes()
            return
        acquire = getattr(dbapi_conn, "acquire_writer_lock", None)
        if acquire is not None:
            acquire()
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            dbapi_conn.rollback()  # releases the writer lock
            raise

    @event.listens_for(engine, "before_cursor_execute")
    def _before_execute(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        dbapi_conn = conn.connection.dbapi_connection
        if getattr(dbapi_conn, "deferred", False) and not _is_read(statement):
            dbapi_conn.start_writing()


def _is_read(statement: str) -> bool:
    return statement.lstrip()[:6].upper() == "SELECT"


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
