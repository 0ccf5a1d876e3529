"""Council leaders (juntas vecinales): who leads which zona, and how much they sent today."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.broadcasts import LA_PAZ
from storage.models import Broadcast, Leader, Zone, utcnow


def add_leader(session: Session, phone: str, zone_id: int) -> Leader:
    """Register a council leader for a zona (moving them if the phone is already a leader)."""
    if not phone.startswith("+") or not phone[1:].isdigit():
        raise ValueError(f"a leader's phone must be E.164 (+591...), not {phone!r}")
    leader = session.scalar(select(Leader).where(Leader.phone == phone))
    if leader is None:
        leader = Leader(phone=phone, zone_id=zone_id, created_at=utcnow())
        session.add(leader)
    else:
        leader.zone_id = zone_id
    session.flush()
    return leader


def leader_for(session: Session, phone: str) -> Leader | None:
    """The leader with this phone, if any (asked on every AYUDA and leader word, from anyone:
    without the autoflush that would first write the sender's half-finished turn)."""
    with session.no_autoflush:
        return session.scalar(select(Leader).where(Leader.phone == phone))


def leading(session: Session, phone: str | None) -> tuple[Leader, Zone] | None:
    """The leader with this phone and the zona they lead; None when the phone leads no zona
    (any more). Every leader command by SMS starts here."""
    found = leader_for(session, phone) if phone else None
    zone = session.get(Zone, found.zone_id) if found is not None else None
    return (found, zone) if found is not None and zone is not None else None


# Notices and polls a council leader may start per day, by SMS or in the console.
DAILY_LIMIT = 3


def _midnight(now: datetime) -> datetime:
    return now.astimezone(LA_PAZ).replace(hour=0, minute=0, second=0, microsecond=0)


def staff_sent_today(session: Session, staff_user_id: int, now: datetime) -> int:
    """Broadcasts a console user has started since midnight in La Paz."""
    return (
        session.scalar(
            select(func.count())
            .select_from(Broadcast)
            .where(
                Broadcast.staff_user_id == staff_user_id,
                Broadcast.created_at >= _midnight(now),
            )
        )
        or 0
    )


def sent_by_today(session: Session, leader_id: int, now: datetime) -> int:
    """Broadcasts a leader has started since midnight in La Paz (counted by the leader, so
    erasing their resident row with BORRAR does not start the count again)."""
    midnight = _midnight(now)
    return (
        session.scalar(
            select(func.count())
            .select_from(Broadcast)
            .where(Broadcast.leader_id == leader_id, Broadcast.created_at >= midnight)
        )
        or 0
    )


def leader_zone_ids(session: Session, phone: str) -> frozenset[int]:
    """Zonas a phone may broadcast to as a leader (empty when it is no leader)."""
    return frozenset(session.scalars(select(Leader.zone_id).where(Leader.phone == phone)))
