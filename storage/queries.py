"""Query functions: they take the session first and never commit (callers own transactions)."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    Table,
    Update,
    bindparam,
    func,
    insert,
    inspect,
    literal,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapper, Session, contains_eager

from storage.models import (
    Base,
    Conversation,
    Delivery,
    Macrodistrict,
    NewsItem,
    OutboundMessage,
    OutboxEntry,
    Poll,
    ReceivedMessage,
    Report,
    Resident,
    Vote,
    Zone,
    utcnow,
)


def insert_ignoring_conflicts(session: Session, model: type) -> postgresql.Insert | sqlite.Insert:
    """INSERT ... ON CONFLICT DO NOTHING into model, for .values() or .from_select().

    A row that would break a unique constraint is skipped instead of failing the transaction.
    """
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(model).on_conflict_do_nothing()
    if dialect == "sqlite":
        return sqlite.insert(model).on_conflict_do_nothing()
    raise RuntimeError(f"unsupported database: {dialect}")  # pragma: no cover


# Built once: a statement object keeps its cache key, so each use skips computing it again.
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

    One statement reads and locks both rows (FOR UPDATE OF both on PostgreSQL; SQLite
    already serialises writers), so two texts from one phone are applied one after the
    other. Both rows must be locked: when the SELECT has to wait, PostgreSQL re-reads the
    rows it locks once the lock is granted, but a joined row it does not lock would come
    from the snapshot taken before the wait, i.e. the conversation the previous text had
    just replaced.

    A resident's conversation row is made with the resident (a row missing since older
    versions is made on the spot), so the join always finds it.
    """
    for _attempt in range(3):
        resident = session.scalars(_LOCK_RESIDENT, {"phone": phone}).one_or_none()
        if resident is not None:
            return resident
        # A new phone, a resident without a conversation row yet, or (PostgreSQL) the
        # transaction we waited for deleted the row (declined consent) or erased its phone.
        session.execute(
            insert_ignoring_conflicts(session, Resident).values(
                phone=phone, status="onboarding", created_at=utcnow()
            )
        )
        ensure_conversations(session, Resident.phone == phone)
    raise RuntimeError(f"could not lock a resident row for {phone}")


def ensure_conversations(session: Session, *where: Any) -> None:
    """Give the residents matching `where` the (empty) conversation row they lack."""
    missing = select(
        Resident.id, literal({}, JSON).label("slots"), literal(utcnow()).label("updated_at")
    ).where(
        *where,
        ~select(Conversation.resident_id).where(Conversation.resident_id == Resident.id).exists(),
    )
    session.execute(
        insert_ignoring_conflicts(session, Conversation).from_select(
            ["resident_id", "slots", "updated_at"], missing
        )
    )


def conversation_for(session: Session, resident: Resident) -> Conversation:
    """The resident's conversation row (loaded with the resident), created on first use."""
    conv = resident.conversation
    if conv is None:
        conv = Conversation(resident_id=resident.id, slots={})
        resident.conversation = conv
    return conv


def flush_changes(session: Session, *rows: Base) -> None:
    """Flush what a unit of work changed; if only some columns of `rows` did, as plain UPDATEs.

    The usual text changes a few columns of two rows (the resident, the conversation), and
    the ORM's unit of work costs several times what those statements do. So when nothing else
    is new, deleted or changed, each row's changed columns go out in one UPDATE and the rows
    leave the session, stored; anything more goes through the ordinary flush.
    """
    if session.new or session.deleted or any(obj not in rows for obj in session.dirty):
        session.flush()
        return
    for row in rows:
        state = inspect(row)
        if not state.persistent:
            continue
        if state.modified:
            changed = tuple(
                prop.key
                for prop in state.mapper.column_attrs
                if state.attrs[prop.key].history.has_changes()
            )
            if changed:
                params = {f"v_{key}": state.dict[key] for key in changed}
                for col, value in zip(state.mapper.primary_key, state.identity or (), strict=True):
                    params[f"pk_{col.key}"] = value
                session.execute(_update_statement(state.mapper, changed), params)
    for row in rows:  # afterwards: expunging a resident takes its conversation along
        if row in session:
            session.expunge(row)


@functools.cache
def _update_statement(mapper: Mapper[Any], keys: tuple[str, ...]) -> Update:
    """UPDATE table SET <keys> WHERE <primary key>, with bind parameters, built once per shape."""
    columns = {key: mapper.get_property(key).columns[0] for key in keys}  # type: ignore[attr-defined]
    return (
        update(cast(Table, mapper.local_table))
        .where(*(col == bindparam(f"pk_{col.key}") for col in mapper.primary_key))
        .values({col: bindparam(f"v_{key}") for key, col in columns.items()})
    )


def record_inbound(
    session: Session,
    *,
    sid: str,
    channel: str,
    body: str | None,
    num_media: int,
    resident_id: int | None,
    replies: list[str],
) -> None:
    """Store a received message and the reply it got; a repeated sid fails the transaction."""
    session.execute(
        _INSERT_INBOUND,
        {
            "sid": sid,
            "channel": channel,
            "body": body,
            "num_media": num_media,
            "resident_id": resident_id,
            "replies": replies,
        },
    )


_INSERT_INBOUND = insert(cast(Table, ReceivedMessage.__table__))


def find_inbound(session: Session, sid: str) -> ReceivedMessage | None:
    return session.scalar(select(ReceivedMessage).where(ReceivedMessage.sid == sid))


def all_zones(session: Session) -> list[Zone]:
    return list(session.scalars(select(Zone).order_by(Zone.name)))


def macrodistricts(session: Session) -> list[Macrodistrict]:
    return list(session.scalars(select(Macrodistrict).order_by(Macrodistrict.position)))


def zones_in(session: Session, macrodistrict_id: int) -> list[Zone]:
    return list(
        session.scalars(
            select(Zone).where(Zone.macrodistrict_id == macrodistrict_id).order_by(Zone.name)
        )
    )


def erase_resident(session: Session, resident: Resident, *, keep_row: bool) -> None:
    """Remove a resident's personal data: phone, message texts, conversation.

    keep_row=True leaves an anonymous row (zona, language, dates) so aggregates stay;
    keep_row=False removes the row entirely (someone who never consented).
    """
    session.execute(
        update(ReceivedMessage)
        .where(ReceivedMessage.resident_id == resident.id)
        .values(body=None, replies=None)
    )
    session.execute(
        update(OutboundMessage)
        .where(OutboundMessage.resident_id == resident.id)
        .values(body=None, to_address=None)
    )
    if resident.conversation is not None:
        session.delete(resident.conversation)
    if keep_row:
        resident.phone = None
        resident.status = "erased"
        resident.erased_at = utcnow()
        resident.topics = []
    else:
        session.delete(resident)
    session.flush()


def add_outbox(
    session: Session, job: str, *args: Any, not_before: datetime | None = None
) -> OutboxEntry:
    """Write an outbox row in the caller's transaction; the relay hands it to RQ later."""
    entry = OutboxEntry(job=job, args=list(args), not_before=not_before)
    session.add(entry)
    session.flush()
    return entry


def stats(session: Session) -> dict[str, Any]:
    """Participation figures the municipality reads (and the latest broadcasts' progress).

    "residents" counts people currently signed up (consented, not opted out, not erased);
    synthetic demo residents are included and also counted apart.
    """
    from storage.broadcasts import broadcast_stats

    active = Resident.status == "active"

    def count(*where: Any) -> int:
        return session.scalar(select(func.count()).select_from(Resident).where(*where)) or 0

    by_zone = session.execute(
        select(Zone.name, func.count(Resident.id))
        .join(Resident, Resident.zone_id == Zone.id)
        .where(active)
        .group_by(Zone.name)
        .order_by(func.count(Resident.id).desc(), Zone.name)
    ).all()
    by_lang = session.execute(
        select(Resident.language, func.count()).where(active).group_by(Resident.language)
    ).all()
    return {
        "residents": count(active),
        "opted_out": count(Resident.status == "opted_out"),
        "onboarding": count(Resident.status == "onboarding"),
        "erased": count(Resident.status == "erased"),
        "residents_by_zone": {zone: n for zone, n in by_zone},
        "residents_by_language": {lang or "unknown": n for lang, n in by_lang},
        "synthetic_residents": count(Resident.synthetic.is_(True)),
        "reports": _count_rows(session, Report),
        "reports_by_status": {
            status: n
            for status, n in session.execute(
                select(Report.status, func.count()).group_by(Report.status)
            ).all()
        },
        "votes": _count_rows(session, Vote),
        "polls": _count_rows(session, Poll),
        "news": _count_rows(session, NewsItem),
        "broadcasts": broadcast_stats(session),
    }


def _count_rows(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


# Twilio's message statuses in the order they can happen; a callback only moves a row forward.
# Terminal outcomes share the top ranks: a late "sent" never overwrites "delivered", and
# "read" (WhatsApp) follows "delivered".
STATUS_RANK: dict[str, int] = {
    "pending": 0,
    "accepted": 1,
    "scheduled": 1,
    "queued": 2,
    "sending": 3,
    "unknown": 3,
    "sent": 4,
    "undelivered": 5,
    "failed": 5,
    "canceled": 5,
    "delivered": 6,
    "partially_delivered": 6,
    "read": 7,
}


def apply_status(session: Session, sid: str, status: str, error_code: int | None) -> bool:
    """Apply a status callback forward-only to a message or broadcast delivery; True if changed."""
    status = status.strip().lower()
    rank = STATUS_RANK.get(status)
    if rank is None:
        return False
    lower = [s for s, r in STATUS_RANK.items() if r < rank]
    values: dict[str, Any] = {"status": status, "updated_at": utcnow()}
    if error_code is not None:
        values["error_code"] = error_code
    result = session.execute(
        update(OutboundMessage)
        .where(OutboundMessage.twilio_sid == sid, OutboundMessage.status.in_(lower))
        .values(**values)
    )
    changed = bool(result.rowcount)  # type: ignore[attr-defined]
    if status == "sending":
        # For a delivery row "sending" means "claimed by a worker": Twilio's own "sending"
        # adds nothing to "queued" and would confuse the sweeper.
        return changed
    result = session.execute(
        update(Delivery)
        .where(Delivery.twilio_sid == sid, Delivery.status.in_(lower))
        .values(**values)
    )
    return changed or bool(result.rowcount)  # type: ignore[attr-defined]


def queue_message(
    session: Session, resident: Resident, body: str, *, channel: str | None = None
) -> OutboundMessage:
    """Write a message and its outbox row in the caller's transaction (sent by a worker later)."""
    channel = channel or resident.last_channel or "sms"
    address = resident.phone if channel == "sms" else f"whatsapp:{resident.phone}"
    message = OutboundMessage(
        resident_id=resident.id, to_address=address, channel=channel, body=body
    )
    session.add(message)
    session.flush()
    add_outbox(session, "send_message", message.id)
    return message
