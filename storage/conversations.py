"""A resident's conversation: the row a text's turn locks, and the inbound messages it records.

One turn per text: lock the sender's resident and conversation rows (FOR UPDATE on
PostgreSQL; SQLite takes its single write lock at BEGIN), run the step, record the message
row with its reply, commit. A repeated MessageSid fails on the message row's unique
constraint, so the whole turn rolls back and nothing of it is applied twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, func, literal, select
from sqlalchemy.orm import Session, contains_eager

from storage.db import insert_ignoring_conflicts
from storage.enums import ResidentStatus
from storage.models import Conversation, ReceivedMessage, Resident, utcnow


class ExpectKind(StrEnum):
    """What a bare answer outside any flow may be about."""

    POLL = "poll"  # a poll invitation: the answer is a vote
    FOLLOWUP = "followup"  # "¿Se resolvió?" about a resolved report
    COURSE = "course"  # a daily lesson: "1" asks for its question (the id is the enrolment's)


@dataclass(frozen=True)
class Expectation:
    """A question we asked outside any flow, stored in Conversation.expect as JSON.

    The stored shape, {"kind": "poll", "id": 3, "until": ISO time}, is what rows already hold
    (worker.fanout writes it to many rows in one UPDATE), so it must not change.
    """

    kind: ExpectKind
    id: int  # the poll's or the report's id
    until: datetime | None  # after this the answer is read as anything else; None: no end

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "id": self.id,
            "until": self.until.isoformat() if self.until is not None else None,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> Expectation | None:
        """The stored expectation, or None when there is none or it cannot be read."""
        if not data:
            return None
        try:
            until = data.get("until")
            return cls(
                ExpectKind(data["kind"]),
                int(data["id"]),
                datetime.fromisoformat(str(until)) if until else None,
            )
        except (KeyError, TypeError, ValueError):
            return None

    def expired(self, now: datetime) -> bool:
        return self.until is not None and self.until < now


_LOCK_RESIDENT = (
    select(Resident)
    .join(Resident.conversation)
    .options(contains_eager(Resident.conversation))
    .with_for_update(of=[Resident, Conversation])
    .execution_options(populate_existing=True)
)


def lock_resident(session: Session, phone: str) -> Resident:
    """The resident for a phone with its conversation, created if new, locked until commit.

    Both rows are locked: when the SELECT has to wait, PostgreSQL re-reads the rows it locks
    once the lock is granted, but a joined row it does not lock would come from the snapshot
    taken before the wait, i.e. the conversation the previous text had just replaced. On
    SQLite the transaction already holds the database's write lock (storage.db), so two texts
    from one phone are applied one after the other there too.
    """
    for _attempt in range(3):
        resident = session.scalars(_LOCK_RESIDENT.where(Resident.phone == phone)).one_or_none()
        if resident is not None:
            return resident
        # A new phone, a resident without a conversation row yet (older versions), or
        # (PostgreSQL) the transaction we waited for deleted the row or erased its phone.
        session.execute(
            insert_ignoring_conflicts(Resident).values(
                phone=phone, status=ResidentStatus.ONBOARDING, created_at=utcnow()
            )
        )
        ensure_conversations(session, Resident.phone == phone)
    raise RuntimeError(f"could not lock a resident row for {phone}")


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


def record_inbound(
    session: Session,
    *,
    sid: str,
    channel: str,
    body: str | None,
    num_media: int,
    resident_id: int | None,
    replies: list[str],
    received_at: datetime | None = None,
) -> None:
    """Write the message row, last in its turn: a MessageSid seen before raises IntegrityError
    here, and the caller's rollback undoes the whole turn. received_at is the turn's time."""
    session.add(
        ReceivedMessage(
            sid=sid,
            channel=channel,
            body=body,
            num_media=num_media,
            resident_id=resident_id,
            replies=replies,
            received_at=received_at or utcnow(),
        )
    )
    session.flush()


def count_inbound_since(session: Session, resident_id: int, since: datetime, cap: int) -> int:
    """How many texts the resident sent after `since`, counting no further than `cap`: a flood
    of thousands costs no more to count than the limit it is checked against."""
    recent = (
        select(ReceivedMessage.id)
        .where(ReceivedMessage.resident_id == resident_id, ReceivedMessage.received_at > since)
        .limit(cap)
        .subquery()
    )
    return session.scalar(select(func.count()).select_from(recent)) or 0


def find_inbound(session: Session, sid: str) -> ReceivedMessage | None:
    return session.scalar(select(ReceivedMessage).where(ReceivedMessage.sid == sid))
