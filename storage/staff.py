"""Staff users and their API tokens. Passwords arrive hashed: hashing is the web face's job."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.enums import StaffRole
from storage.models import ApiToken, Macrodistrict, StaffUser, Zone, aware, utcnow

# After this many wrong passwords in a row the account waits LOCKOUT before the next try.
MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)


def normalize_email(email: str) -> str:
    return email.strip().lower()


def add_user(
    session: Session,
    email: str,
    role: StaffRole,
    password_hash: str | None,
    *,
    macrodistrict: Macrodistrict | None = None,
    zone: Zone | None = None,
) -> StaffUser:
    """A new staff user; a subalcaldía needs its macrodistrito, a leader their zona."""
    email = normalize_email(email)
    if "@" not in email or len(email) > 254:
        raise ValueError(f"not an email address: {email!r}")
    if role == StaffRole.SUBALCALDIA and macrodistrict is None:
        raise ValueError("a subalcaldía user needs --macro NAME")
    if role == StaffRole.LEADER and zone is None:
        raise ValueError("a leader needs --zone NAME")
    if find_user(session, email) is not None:
        raise ValueError(f"{email} already exists")
    user = StaffUser(
        email=email,
        role=role.value,
        macrodistrict_id=macrodistrict.id
        if macrodistrict and role == StaffRole.SUBALCALDIA
        else None,
        zone_id=zone.id if zone and role == StaffRole.LEADER else None,
        password_hash=password_hash,
        failed_logins=0,
    )
    session.add(user)
    session.flush()
    return user


def find_user(session: Session, email: str) -> StaffUser | None:
    return session.scalars(
        select(StaffUser).where(StaffUser.email == normalize_email(email))
    ).one_or_none()


def get_user(session: Session, user_id: int) -> StaffUser | None:
    return session.get(StaffUser, user_id)


def users(session: Session) -> list[StaffUser]:
    return list(session.scalars(select(StaffUser).order_by(StaffUser.email)))


def count_users(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(StaffUser)) or 0


def locked(user: StaffUser, now: datetime | None = None) -> bool:
    return user.locked_until is not None and aware(user.locked_until) > (now or utcnow())


def record_login(session: Session, user: StaffUser, ok: bool, now: datetime | None = None) -> None:
    """Count a login attempt: MAX_FAILED_LOGINS wrong ones in a row lock the account."""
    now = now or utcnow()
    if ok:
        user.failed_logins, user.locked_until, user.last_login_at = 0, None, now
        return
    user.failed_logins = (user.failed_logins or 0) + 1
    if user.failed_logins >= MAX_FAILED_LOGINS:
        user.locked_until, user.failed_logins = now + LOCKOUT, 0


def disable_user(session: Session, user: StaffUser, now: datetime | None = None) -> None:
    """A disabled user can neither log in nor use their tokens; their history stays."""
    now = now or utcnow()
    user.disabled_at = user.disabled_at or now
    for token in session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    ):
        token.revoked_at = now


def issue_token(session: Session, user: StaffUser) -> str:
    """A new API token for the user: returned once, stored only as its hash."""
    token = "mb_" + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, token_hash=_digest(token)))
    session.flush()
    return token


def revoke_tokens(session: Session, user: StaffUser, now: datetime | None = None) -> int:
    """Revoke every live token of the user; how many."""
    revoked = 0
    for token in session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    ):
        token.revoked_at = now or utcnow()
        revoked += 1
    return revoked


def user_for_token(session: Session, token: str, now: datetime | None = None) -> StaffUser | None:
    """The active user a live token belongs to, or None."""
    row = session.scalars(
        select(ApiToken).where(ApiToken.token_hash == _digest(token), ApiToken.revoked_at.is_(None))
    ).one_or_none()
    if row is None:
        return None
    user = session.get(StaffUser, row.user_id)
    if user is None or user.disabled_at is not None:
        return None
    row.last_used_at = now or utcnow()
    return user


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
