"""Query functions: they take the session first and never commit (callers own transactions)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Insert, Table, delete, func, select, text, update
from sqlalchemy.orm import Session

from storage.models import (
    Base,
    Conversation,
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


class InsertIgnoringConflicts(Insert):
    """INSERT ... ON CONFLICT DO NOTHING, spelled the same on SQLite (3.24+) and PostgreSQL.

    The dialects' own `on_conflict_do_nothing()` statements are never cached, so each use
    was compiled anew (about a millisecond, on every new phone's first text). This one is
    an ordinary INSERT to SQLAlchemy's statement cache, compiled once per shape: the clause
    goes where the dialects put theirs (after VALUES or the SELECT, before RETURNING).
    """

    inherit_cache = True
    _post_values_clause = text("ON CONFLICT DO NOTHING")


def insert_ignoring_conflicts(model: type[Base]) -> InsertIgnoringConflicts:
    """INSERT ... ON CONFLICT DO NOTHING into model, for .values() or .from_select().

    A row that would break a unique constraint is skipped instead of failing the
    transaction. Column defaults apply as to any INSERT. SQLite needs a WHERE in the SELECT
    of .from_select() (WHERE true will do) to parse the statement.
    """
    return InsertIgnoringConflicts(cast(Table, model.__table__))


def conversation_for(session: Session, resident: Resident) -> Conversation:
    """The resident's conversation row (loaded with the resident), created on first use."""
    conv = resident.conversation
    if conv is None:
        conv = Conversation(resident_id=resident.id, slots={})
        resident.conversation = conv
    return conv


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
    _blank_messages(session, [resident.id])
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


def purge_unfinished_signups(session: Session, cutoff: datetime) -> int:
    """Remove numbers that started signing up before `cutoff`, never consented, and went quiet.

    What they wrote is blanked and their rows go, as if they had declined; someone who opted
    out stays (we must remember not to write to them). A number being texted right now is
    skipped (its row is locked) and a later text simply starts afresh. Returns how many.
    """
    ids = list(
        session.scalars(
            select(Resident.id)
            .where(
                Resident.status == "onboarding",
                Resident.consent_at.is_(None),
                func.coalesce(Resident.last_inbound_at, Resident.created_at) < cutoff,
            )
            .with_for_update(skip_locked=True)
        )
    )
    for start in range(0, len(ids), 1000):
        batch = ids[start : start + 1000]
        _blank_messages(session, batch)
        session.execute(delete(Conversation).where(Conversation.resident_id.in_(batch)))
        session.execute(delete(Resident).where(Resident.id.in_(batch)))
    return len(ids)


def _blank_messages(session: Session, resident_ids: list[int]) -> None:
    """What these residents wrote and what we wrote to them: texts and addresses go."""
    session.execute(
        update(ReceivedMessage)
        .where(ReceivedMessage.resident_id.in_(resident_ids))
        .values(body=None, replies=None)
    )
    session.execute(
        update(OutboundMessage)
        .where(OutboundMessage.resident_id.in_(resident_ids))
        .values(body=None, to_address=None)
    )


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
