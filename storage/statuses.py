"""Twilio's delivery status callbacks: applied forward-only, kept when they come too early.

Twilio may call /twilio/status before the worker has stored the sid its API call returned (the
callback races the worker's commit). Such a callback is kept in early_statuses and applied by
the worker's periodic pass once the sid is on a message or a delivery, so no status is lost.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    delete,
    exists,
    func,
    or_,
    select,
    union,
    update,
)
from sqlalchemy.orm import Session

from storage.db import insert_ignoring_conflicts
from storage.models import Delivery, EarlyStatus, OutboundMessage, utcnow
from storage.residents import opt_out

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

# Twilio's "the recipient has opted out" (on a send, or later in a status callback).
OPTED_OUT_ERROR = 21610

# An early status whose sid has not turned up by then belongs to nothing we sent.
EARLY_STATUS_TTL = timedelta(days=2)
# At most this many are kept: a flood of callbacks for made-up sids cannot grow the table
# past it (a real early status is one per message in flight, a few seconds at a time).
EARLY_STATUS_LIMIT = 10_000


def apply_status(session: Session, sid: str, status: str, error_code: int | None) -> bool:
    """Apply a status callback forward-only to a message or broadcast delivery; True if changed.

    A callback for a sid nobody has stored yet is kept for apply_early_statuses(), but only
    while some message or delivery is still waiting for its sid (otherwise it cannot be ours)
    and while fewer than EARLY_STATUS_LIMIT are kept.
    """
    status = status.strip().lower()
    if status not in STATUS_RANK:
        return False
    if _forward(session, sid, status, error_code):
        return True
    if not _known(session, sid) and _may_be_ours(session):
        session.execute(
            insert_ignoring_conflicts(EarlyStatus).values(
                sid=sid, status=status, error_code=error_code, received_at=utcnow()
            )
        )
    return False


def apply_early_statuses(session: Session, now: datetime | None = None) -> int:
    """Apply kept callbacks whose sid has now been stored; drop those too old. Returns applied."""
    now = now or utcnow()
    stored = _stored(EarlyStatus.sid)
    due = list(session.scalars(select(EarlyStatus).where(stored).order_by(EarlyStatus.id)))
    for early in due:
        _forward(session, early.sid, early.status, early.error_code)
        session.delete(early)
    session.execute(delete(EarlyStatus).where(EarlyStatus.received_at < now - EARLY_STATUS_TTL))
    return len(due)


def _forward(session: Session, sid: str, status: str, error_code: int | None) -> bool:
    if error_code == OPTED_OUT_ERROR:
        # The carrier or Twilio says the resident sent STOP: honour it like BAJA.
        whose: CompoundSelect[tuple[int | None]] = union(
            select(OutboundMessage.resident_id).where(OutboundMessage.twilio_sid == sid),
            select(Delivery.resident_id).where(Delivery.twilio_sid == sid),
        )
        opt_out(session, [rid for rid in session.scalars(whose) if rid is not None], utcnow())
    rank = STATUS_RANK[status]
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


def _may_be_ours(session: Session) -> bool:
    """Something we sent may still lack its sid, and there is room to keep one more."""
    awaiting = or_(
        exists().where(
            OutboundMessage.twilio_sid.is_(None), OutboundMessage.status.in_(_AWAITING_SID)
        ),
        exists().where(Delivery.twilio_sid.is_(None), Delivery.status.in_(_AWAITING_SID)),
    )
    if not session.scalar(select(awaiting)):
        return False
    kept = select(func.count()).select_from(
        select(EarlyStatus.id).limit(EARLY_STATUS_LIMIT).subquery()
    )
    return (session.scalar(kept) or 0) < EARLY_STATUS_LIMIT


# A row handed to Twilio whose sid the worker has not stored yet: claimed and sending, or
# left unknown by a worker that died before writing it (reconciliation may find it later).
_AWAITING_SID = ("sending", "unknown")


def _known(session: Session, sid: str) -> bool:
    return bool(session.scalar(select(_stored(sid))))


def _stored(sid: Any) -> ColumnElement[bool]:
    """True where a message or a delivery carries this sid (a value or a column)."""
    return or_(
        exists().where(OutboundMessage.twilio_sid == sid),
        exists().where(Delivery.twilio_sid == sid),
    )
