"""The audit log: every staff action, written in the transaction of the action itself."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import AuditEntry, StaffUser, utcnow


@dataclass(frozen=True)
class By:
    """Who acts, as an entry names them: a staff user and where from (console, CLI, API), or
    someone named by `actor` (a leader by SMS: "leader 3")."""

    user: StaffUser | None = None
    via: str = "cli"
    actor: str | None = None


def record(
    session: Session,
    user: StaffUser | None,
    via: str,
    action: str,
    target_type: str,
    target_id: object = None,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    actor: str | None = None,
) -> AuditEntry:
    """Write one entry; rolled back with the action if the action fails."""
    entry = AuditEntry(
        at=utcnow(),
        user_id=user.id if user else None,
        actor=actor or (user.email if user else "system"),
        via=via,
        action=action,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        before=before,
        after=after,
    )
    session.add(entry)
    return entry


def entries(
    session: Session,
    *,
    actor: str | None = None,
    action: str | None = None,
    target_type: str | None = None,
    since: datetime | None = None,
    limit: int = 200,
) -> list[AuditEntry]:
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if actor:
        query = query.where(AuditEntry.actor == actor.strip().lower())
    if action:
        query = query.where(AuditEntry.action == action)
    if target_type:
        query = query.where(AuditEntry.target_type == target_type)
    if since:
        query = query.where(AuditEntry.at >= since)
    return list(session.scalars(query))
