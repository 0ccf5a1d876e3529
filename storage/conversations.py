"""One text's storage: lock the sender's rows, write what the turn changed, remember the sid.

This is the webhook's path for every message, so it is built to be cheap: one statement reads
and locks the resident and the conversation, and on PostgreSQL the usual turn is written back
in one more (the changed columns of both rows and the message row), then COMMIT. These fixed
statements go out as driver SQL (storage.driver_sql), and the two rows become ORM objects
without the ORM's load.
"""

from __future__ import annotations

import functools
from typing import Any, TypeVar, cast

from sqlalchemy import (
    JSON,
    ColumnElement,
    Dialect,
    Insert,
    Table,
    Update,
    bindparam,
    func,
    insert,
    inspect,
    literal,
    select,
)
from sqlalchemy import update as update_
from sqlalchemy.orm import (
    Mapper,
    Session,
    class_mapper,
    contains_eager,
    make_transient_to_detached,
)
from sqlalchemy.orm.attributes import instance_dict
from sqlalchemy.orm.base import NO_VALUE

from storage.db import StaleRead, insert_ignoring_conflicts
from storage.driver_sql import (
    Processor,
    driver_statement,
    fetch_one,
    process_row,
    row_processors,
)
from storage.models import Base, Conversation, ReceivedMessage, Resident, utcnow

T = TypeVar("T")

# The ORM's own locked load, for rows the session already holds (see _load_locked).
_LOCK_RESIDENT = (
    select(Resident)
    .join(Resident.conversation)
    .options(contains_eager(Resident.conversation))
    .where(Resident.phone == bindparam("phone"))
    .with_for_update(of=[Resident, Conversation])
    .execution_options(populate_existing=True)
)


def lock_resident(session: Session, phone: str) -> Resident:
    """The resident for a phone with its conversation, created if new, locked until commit.

    One statement reads and locks both rows (FOR UPDATE OF both on PostgreSQL; on SQLite, in
    a transaction that defers its write lock, the rows are compared again once the lock is
    taken), so two texts from one phone are applied one after the other. Both rows must be
    locked: when the SELECT has to wait, PostgreSQL re-reads the rows it locks once the lock
    is granted, but a joined row it does not lock would come from the snapshot taken before
    the wait, i.e. the conversation the previous text had just replaced.

    A resident's conversation row is made with the resident (a row missing since older
    versions is made on the spot), so the join always finds it.
    """
    for _attempt in range(3):
        resident = _load_locked(session, phone)
        if resident is not None:
            return resident
        # A new phone, a resident without a conversation row yet, or (PostgreSQL) the
        # transaction we waited for deleted the row (declined consent) or erased its phone.
        session.execute(
            insert_ignoring_conflicts(Resident).values(
                phone=phone, status="onboarding", created_at=utcnow()
            )
        )
        ensure_conversations(session, Resident.phone == phone)
    raise RuntimeError(f"could not lock a resident row for {phone}")


def _columns(mapper: Mapper[Any]) -> list[tuple[str, ColumnElement[Any]]]:
    return [(prop.key, prop.columns[0]) for prop in mapper.column_attrs]


_RESIDENT_COLUMNS = _columns(inspect(Resident))
_CONVERSATION_COLUMNS = _columns(inspect(Conversation))
_LOCKED_COLUMNS = [col for _, col in _RESIDENT_COLUMNS + _CONVERSATION_COLUMNS]
_RESIDENT_KEYS = [key for key, _ in _RESIDENT_COLUMNS]
_CONVERSATION_KEYS = [key for key, _ in _CONVERSATION_COLUMNS]
# Every column of a phone's resident and conversation rows, both locked (SQLite has no FOR
# UPDATE: there the write lock, and the comparison made once it is taken, do that job).
_LOCK_ROWS = (
    select(*_LOCKED_COLUMNS)
    .join_from(Resident.__table__, Conversation.__table__)
    .where(Resident.__table__.c.phone == bindparam("phone"))
    .with_for_update(of=[Resident.__table__, Conversation.__table__])
)


def _load_locked(session: Session, phone: str) -> Resident | None:
    """Read and lock a phone's two rows, and put them in the session as if the ORM had.

    The ORM's own load (a compiled-cache lookup, row processors built for each result, the
    identity map) costs several times the statement itself, and this runs for every text:
    the statement goes out as driver SQL and the two objects are made directly, as loaded
    and unchanged. If either row is already in the session, its objects are refreshed
    through the ORM instead, so the session never holds two copies of a row.
    """
    conn = session.connection()
    statement = driver_statement(_LOCK_ROWS, conn.dialect)
    row = fetch_one(conn, statement, {"phone": phone})
    raw: Any = conn.connection.dbapi_connection
    if getattr(raw, "deferred", False):
        # SQLite before its write lock: the rows read now are compared again under the lock.
        _check_again_when_locked(raw, statement.sql, statement.params({"phone": phone}), row)
    if row is None:
        return None
    values = process_row(_row_processors(conn.dialect), row)
    split = len(_RESIDENT_KEYS)
    resident_values = dict(zip(_RESIDENT_KEYS, values[:split], strict=True))
    conversation_values = dict(zip(_CONVERSATION_KEYS, values[split:], strict=True))
    if _in_session(session, Resident, resident_values) or _in_session(
        session, Conversation, conversation_values
    ):
        return session.scalars(_LOCK_RESIDENT, {"phone": phone}).one_or_none()
    resident = _loaded(Resident, resident_values)
    conversation = _loaded(Conversation, conversation_values)
    instance_dict(resident)["conversation"] = conversation
    instance_dict(conversation)["resident"] = resident
    make_transient_to_detached(resident)
    make_transient_to_detached(conversation)
    session.add(resident)  # persistent, unchanged; the conversation comes along
    return resident


def _loaded(cls: type[T], values: dict[str, Any]) -> T:
    obj: T = class_mapper(cls).class_manager.new_instance()
    instance_dict(obj).update(values)
    return obj


def _in_session(session: Session, cls: type[Base], values: dict[str, Any]) -> bool:
    mapper = class_mapper(cls)
    key = mapper.identity_key_from_primary_key(tuple(values[k] for k in _primary_key(mapper)))
    return key in session.identity_map


@functools.cache
def _primary_key(mapper: Mapper[Any]) -> tuple[str, ...]:
    return tuple(mapper.get_property_by_column(col).key for col in mapper.primary_key)


@functools.cache
def _row_processors(dialect: Dialect) -> tuple[Processor, ...]:
    return row_processors(_LOCKED_COLUMNS, dialect)


def _check_again_when_locked(raw: Any, sql: str, params: Any, before: Any) -> None:
    """Once the deferred transaction takes SQLite's write lock, read the rows again: if
    either changed or went in between, StaleRead (the turn is then run again, locked)."""

    def unchanged(locked: Any) -> None:
        if locked.execute(sql, params).fetchone() != before:
            raise StaleRead("the sender's rows changed before the write lock")

    raw.check_when_locked(unchanged)


def conversation_for(session: Session, resident: Resident) -> Conversation:
    """The resident's conversation row (loaded with the resident), created on first use."""
    conv = resident.conversation
    if conv is None:
        conv = Conversation(resident_id=resident.id, slots={})
        resident.conversation = conv
    return conv


def ensure_conversations(session: Session, *where: Any) -> None:
    """Give the residents matching `where` the (empty) conversation row they lack."""
    missing = select(
        Resident.id, literal({}, JSON).label("slots"), literal(utcnow()).label("updated_at")
    ).where(
        *where,
        ~select(Conversation.resident_id).where(Conversation.resident_id == Resident.id).exists(),
    )
    session.execute(
        insert_ignoring_conflicts(Conversation).from_select(
            ["resident_id", "slots", "updated_at"], missing
        )
    )


def store_turn(
    session: Session,
    rows: tuple[Base, ...],
    *,
    sid: str,
    channel: str,
    body: str | None,
    num_media: int,
    resident_id: int | None,
    replies: list[str],
    async_navigation: bool = False,
) -> None:
    """Write what a turn changed, then the message row; a repeated sid fails the transaction.

    The usual text changes a few columns of two rows (the resident, the conversation), and
    the ORM's unit of work costs several times what those statements do. So when nothing
    else is new, deleted or changed, each row's changed columns go out as an UPDATE: on
    PostgreSQL inside the message row's INSERT (one round trip), elsewhere one after the
    other. Anything more goes through the ordinary flush first. Then every object leaves the
    session: the ORM would otherwise write the rows' changes a second time at COMMIT.

    With `async_navigation` (the caller saw the transaction write nothing so far), a PostgreSQL
    turn that changes nothing but the conversation and when and how the resident last wrote
    commits without waiting for its WAL flush: a database crash may lose such a turn (the
    resident is a menu step back), never a consent, an opt-out, an erasure, a report, a vote
    or anything else a turn records.
    """
    more = session.new or session.deleted or any(obj not in rows for obj in session.dirty)
    if more:
        session.flush()
    updates = [change for change in map(_column_changes, rows) if change is not None]
    message = {
        "m_sid": sid,
        "m_channel": channel,
        "m_body": body,
        "m_num_media": num_media,
        "m_resident_id": resident_id,
        "m_replies": replies,
        "m_received_at": utcnow(),
    }
    # Fixed statements on the session's connection: the ORM has nothing to add to them.
    conn = session.connection()
    if updates and conn.dialect.name == "postgresql":
        shapes = tuple((mapper, keys) for mapper, keys, _ in updates)
        for _, _, params in updates:
            message.update(params)
        asynchronous = async_navigation and not more and _navigation_only(updates)
        driver_statement(_insert_message_with(shapes, asynchronous), conn.dialect).execute(
            conn, message
        )
    else:
        for mapper, keys, params in updates:
            driver_statement(_update_statement(mapper, keys), conn.dialect).execute(conn, params)
        driver_statement(_INSERT_MESSAGE, conn.dialect).execute(conn, message)
    session.expunge_all()  # afterwards, and all at once: cheaper than one by one


# What a turn may change of the resident and still be navigation: when and how they wrote.
_NAVIGATION_COLUMNS = frozenset({"last_inbound_at", "last_channel", "whatsapp_last_inbound_at"})


def _navigation_only(updates: list[tuple[Mapper[Any], tuple[str, ...], dict[str, Any]]]) -> bool:
    return all(
        mapper.class_ is not Resident or _NAVIGATION_COLUMNS.issuperset(keys)
        for mapper, keys, _ in updates
    )


def _column_changes(row: Base) -> tuple[Mapper[Any], tuple[str, ...], dict[str, Any]] | None:
    """(mapper, changed column attributes, bind values) for a row, or None if it is clean.

    The ORM keeps the loaded value of every attribute assigned since the load (JSON columns
    here are only ever reassigned, never changed in place); a column whose value is back to
    what was loaded is left alone.
    """
    state = inspect(row)
    if not (state.persistent and state.modified):
        return None
    mapper = state.mapper
    columns = _column_keys(mapper)
    current = state.dict
    keys = tuple(
        key
        for key, loaded in state.committed_state.items()
        if key in columns and (loaded is NO_VALUE or loaded != current.get(key, NO_VALUE))
    )
    if not keys:
        return None
    prefix = _table(mapper).name
    params = {f"{prefix}_v_{key}": current[key] for key in keys}
    for col, value in zip(mapper.primary_key, state.identity or (), strict=True):
        params[f"{prefix}_pk_{col.key}"] = value
    return mapper, keys, params


@functools.cache
def _column_keys(mapper: Mapper[Any]) -> frozenset[str]:
    return frozenset(prop.key for prop in mapper.column_attrs)


@functools.cache
def _update_statement(mapper: Mapper[Any], keys: tuple[str, ...]) -> Update:
    """UPDATE table SET <keys> WHERE <primary key>, with bind parameters, built once per shape.

    Bind names carry the table's name, so the updates of two tables can share one statement.
    """
    table = _table(mapper)
    columns = {key: mapper.get_property(key).columns[0] for key in keys}  # type: ignore[attr-defined]
    return (
        update_(table)
        .where(*(col == bindparam(f"{table.name}_pk_{col.key}") for col in mapper.primary_key))
        .values({col: bindparam(f"{table.name}_v_{key}") for key, col in columns.items()})
    )


def _table(mapper: Mapper[Any]) -> Table:
    return cast(Table, mapper.local_table)


_MESSAGE_COLUMNS = ("sid", "channel", "body", "num_media", "resident_id", "replies", "received_at")
_INSERT_MESSAGE = insert(cast(Table, ReceivedMessage.__table__)).values(
    {name: bindparam(f"m_{name}") for name in _MESSAGE_COLUMNS}
)


@functools.cache
def _insert_message_with(
    shapes: tuple[tuple[Mapper[Any], tuple[str, ...]], ...], asynchronous: bool = False
) -> Insert:
    """WITH <the updates> INSERT INTO inbound_messages ...: a turn's writes in one statement.

    PostgreSQL runs every data-modifying WITH clause exactly once, whatever the INSERT does,
    and a duplicate sid fails the whole statement. When `asynchronous`, the statement also
    sets synchronous_commit off for its transaction (PostgreSQL applies the setting in effect
    at COMMIT): a plain WITH clause runs only when read, so the row's num_media is read
    through it, which saves the turn a statement of its own.
    """
    statement = _INSERT_MESSAGE
    if asynchronous:
        setting = select(func.set_config("synchronous_commit", "off", True).label("setting")).cte(
            "commit_asynchronously"
        )
        num_media = select(bindparam("m_num_media")).select_from(setting).scalar_subquery()
        statement = statement.values(num_media=num_media)
    for mapper, keys in shapes:
        cte = _update_statement(mapper, keys).cte(f"{_table(mapper).name}_turn")
        statement = statement.add_cte(cte)
    return statement


def find_inbound(session: Session, sid: str) -> ReceivedMessage | None:
    return session.scalar(select(ReceivedMessage).where(ReceivedMessage.sid == sid))
