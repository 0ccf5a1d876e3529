"""Broadcasts: who receives one, writing it with its outbox row, cancelling it, its progress.

Functions take the session first and never commit: the caller's transaction writes the
broadcast and the outbox row that will prepare it together (nothing lost if Redis is down).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import Select, Text, cast, func, or_, select, update
from sqlalchemy.orm import Session

from storage import audience
from storage.enums import ResidentStatus
from storage.models import (
    BROADCAST_KINDS,
    BROADCAST_TOPICS,
    Broadcast,
    BroadcastZone,
    Delivery,
    Resident,
    aware,
    utcnow,
)
from storage.outbox import add_outbox

LA_PAZ = ZoneInfo("America/La_Paz")
# How long a bare reply is read as an answer to a poll invitation with no closing time.
POLL_ANSWER_WINDOW = timedelta(days=7)

# Delivery statuses grouped the way staff read them ("sent" = handed to Twilio).
STATUS_BUCKETS: dict[str, str] = {
    "pending": "pending",
    "sending": "sending",
    "accepted": "sent",
    "scheduled": "sent",
    "queued": "sent",
    "sent": "sent",
    "delivered": "delivered",
    "partially_delivered": "delivered",
    "read": "read",
    "failed": "failed",
    "undelivered": "failed",
    "unknown": "unknown",
    "opted_out": "opted_out",
    "canceled": "canceled",
}
COUNT_KEYS = (
    "pending",
    "sending",
    "sent",
    "delivered",
    "read",
    "failed",
    "unknown",
    "opted_out",
    "canceled",
)


class TargetLike(Protocol):
    """What bot.targets.resolve returns: a canonical spec, citywide or a set of zona ids."""

    @property
    def spec(self) -> str: ...
    @property
    def citywide(self) -> bool: ...
    @property
    def zone_ids(self) -> frozenset[int]: ...


@dataclass(frozen=True)
class QuietHours:
    """A nightly window (local time) when non-urgent broadcasts wait; start == end: none."""

    start: time
    end: time
    tz: ZoneInfo = LA_PAZ

    @classmethod
    def parse(cls, spec: str | None, tz: ZoneInfo = LA_PAZ) -> QuietHours:
        """'21:00-07:00'; '' or 'off' disables quiet hours."""
        spec = (spec or "").strip().lower()
        if spec in ("", "off", "none", "0"):
            return cls(time(0), time(0), tz)
        try:
            first, second = (part.strip() for part in spec.split("-"))
            return cls(time.fromisoformat(first), time.fromisoformat(second), tz)
        except ValueError as exc:
            raise ValueError(f"quiet hours must look like 21:00-07:00, not {spec!r}") from exc

    @property
    def enabled(self) -> bool:
        return self.start != self.end

    def contains(self, moment: datetime) -> bool:
        if not self.enabled:
            return False
        local = aware(moment).astimezone(self.tz).time()
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def defer(self, moment: datetime) -> datetime:
        """The moment itself, or the end of the quiet window it falls in (UTC)."""
        moment = aware(moment)
        if not self.contains(moment):
            return moment
        local = moment.astimezone(self.tz)
        end = local.replace(hour=self.end.hour, minute=self.end.minute, second=0, microsecond=0)
        if end <= local:
            end += timedelta(days=1)
        return end.astimezone(UTC)

    def __str__(self) -> str:
        if not self.enabled:
            return "off"
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


DEFAULT_QUIET_HOURS = QuietHours(time(21), time(7))


def topic_for(kind: str) -> str:
    return BROADCAST_TOPICS[kind]


def recipients_query(broadcast: Broadcast) -> Select[tuple[int]]:
    """Resident ids a broadcast goes to: active, reachable, in its zonas, wanting its topic.

    Topics are a JSON list; matching '"topic"' inside its text form works the same on SQLite
    and PostgreSQL (topic names are plain words) and costs one LIKE per row.
    """
    query = select(Resident.id).where(
        Resident.status == ResidentStatus.ACTIVE,
        Resident.phone.is_not(None),
        Resident.number_invalid_at.is_(None),
        cast(Resident.topics, Text).like(f'%"{topic_for(broadcast.kind)}"%'),
    )
    if not broadcast.citywide:
        query = query.where(
            Resident.zone_id.in_(
                select(BroadcastZone.zone_id).where(BroadcastZone.broadcast_id == broadcast.id)
            )
        )
    return query


def audience_languages(session: Session, broadcast: Broadcast) -> dict[str, int]:
    """How many recipients read each language (no language on record counts as Spanish):
    the residents recipients_query would select now, read from the kept counts."""
    zone_ids: list[int] | None = None
    if not broadcast.citywide:
        zone_ids = []
        if broadcast.id is not None:
            zone_ids = list(
                session.scalars(
                    select(BroadcastZone.zone_id).where(BroadcastZone.broadcast_id == broadcast.id)
                )
            )
    return audience.reached_by_language(session, topic_for(broadcast.kind), zone_ids)


def create_broadcast(
    session: Session,
    *,
    kind: str,
    target: TargetLike,
    text_es: str,
    text_ay: str | None,
    poll_id: int | None = None,
    created_by: int | None = None,
    leader_id: int | None = None,
    staff_user_id: int | None = None,
    urgent: bool = False,
    send_at: datetime | None = None,
    quiet_hours: QuietHours = DEFAULT_QUIET_HOURS,
    now: datetime | None = None,
) -> Broadcast:
    """Write a broadcast and the outbox row that prepares it, in the caller's transaction.

    Raises ValueError (nothing written that the caller would commit) when the text is missing
    for a language its audience reads, e.g. Aymara residents and no text_ay. A leader's words
    go out as written: pass them as both text_es and text_ay; the frame around them is
    translated. Non-urgent broadcasts due in quiet hours wait until the window ends (the
    worker checks again when it runs).
    """
    if kind not in BROADCAST_KINDS:
        kinds = ", ".join(BROADCAST_KINDS)
        raise ValueError(f"unknown broadcast kind {kind!r}; use one of {kinds}")
    text_es = (text_es or "").strip()
    text_ay = (text_ay or "").strip() or None
    if not text_es:
        raise ValueError("a broadcast needs its Spanish text")
    if kind == "poll" and poll_id is None:
        raise ValueError("a poll broadcast needs its poll")
    if not target.citywide and not target.zone_ids:
        raise ValueError("a broadcast needs a target: all, zona:NAME or macro:NAME")
    now = now or utcnow()
    due = aware(send_at) if send_at is not None else None
    broadcast = Broadcast(
        kind=kind,
        target=target.spec,
        citywide=target.citywide,
        text_es=text_es,
        text_ay=text_ay,
        poll_id=poll_id,
        created_by=created_by,
        leader_id=leader_id,
        staff_user_id=staff_user_id,
        urgent=urgent,
        send_at=due,
        status="scheduled",
        recipients=0,
        created_at=now,
    )
    with session.begin_nested():
        session.add(broadcast)
        session.flush()
        for zone_id in sorted(target.zone_ids):
            session.add(BroadcastZone(broadcast_id=broadcast.id, zone_id=zone_id))
        session.flush()
        languages = audience_languages(session, broadcast)
        if text_ay is None and languages.get("ay"):
            raise MissingLanguageError("ay", languages["ay"])
        broadcast.recipients = sum(languages.values())
        not_before = due
        if not urgent:
            not_before = quiet_hours.defer(due or now)
            if not_before <= now:
                not_before = None
        add_outbox(session, "prepare_broadcast", broadcast.id, not_before=not_before)
    return broadcast


class MissingLanguageError(ValueError):
    """The audience includes residents who read a language the broadcast has no text for."""

    NAMES = {"ay": "Aymara", "es": "Spanish"}

    def __init__(self, language: str, residents: int) -> None:
        self.language, self.residents = language, residents
        name = self.NAMES.get(language, language)
        super().__init__(
            f"{residents} resident(s) in this audience read {name}: give the {name} text "
            f"(--{language}) or nothing is sent"
        )


def cancel_broadcast(session: Session, broadcast_id: int) -> int:
    """Stop a broadcast: its pending deliveries are canceled; returns how many.

    Messages already handed to Twilio stay sent. Raises ValueError for an unknown broadcast or
    one that has finished.
    """
    broadcast = session.get(Broadcast, broadcast_id, with_for_update=True)
    if broadcast is None:
        raise ValueError(f"no broadcast {broadcast_id}")
    if broadcast.status in ("done", "canceled"):
        raise ValueError(f"broadcast {broadcast_id} is already {broadcast.status}")
    now = utcnow()
    broadcast.status = "canceled"
    broadcast.finished_at = now
    result = session.execute(
        update(Delivery)
        .where(Delivery.broadcast_id == broadcast_id, Delivery.status == "pending")
        .values(status="canceled", updated_at=now)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def failed_for_resend(session: Session, broadcast_id: int, permanent: Collection[int]) -> list[int]:
    """Failed deliveries of residents still active, whose error a later try may not meet."""
    return list(
        session.scalars(
            select(Delivery.id)
            .join(Resident, Resident.id == Delivery.resident_id)
            .where(
                Delivery.broadcast_id == broadcast_id,
                Delivery.status.in_(("failed", "undelivered")),
                or_(Delivery.error_code.is_(None), Delivery.error_code.not_in(list(permanent))),
                Resident.status == ResidentStatus.ACTIVE,
                Resident.number_invalid_at.is_(None),
            )
            .order_by(Delivery.id)
        )
    )


def requeue_deliveries(
    session: Session, broadcast: Broadcast, ids: list[int], *, chunk: int = 100
) -> None:
    """Deliveries back to pending and their chunks on their way to the workers."""
    session.execute(
        update(Delivery)
        .where(Delivery.id.in_(ids))
        .values(status="pending", retry_at=None, twilio_sid=None, error_code=None)
        .execution_options(synchronize_session=False)
    )
    broadcast.status, broadcast.finished_at = "sending", None
    for start in range(0, len(ids), chunk):
        part = ids[start : start + chunk]
        add_outbox(session, "send_chunk", broadcast.id, part[0], part[-1])


def finish_if_complete(session: Session, broadcast_id: int, now: datetime | None = None) -> bool:
    """Mark a sending broadcast done once no delivery is pending or being sent.

    The broadcast's row is locked first, so two workers finishing its last chunks at the same
    moment take turns: the second looks after the first has committed and sees every row
    settled. Without the lock each saw the other's rows still 'sending' and neither finished.
    """
    session.execute(select(Broadcast.id).where(Broadcast.id == broadcast_id).with_for_update())
    busy = session.scalar(
        select(Delivery.id)
        .where(Delivery.broadcast_id == broadcast_id, Delivery.status.in_(("pending", "sending")))
        .limit(1)
    )
    if busy is not None:
        return False
    result = session.execute(
        update(Broadcast)
        .where(Broadcast.id == broadcast_id, Broadcast.status == "sending")
        .values(status="done", finished_at=now or utcnow())
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def status_counts(session: Session, broadcast_id: int) -> dict[str, int]:
    counts = dict.fromkeys(COUNT_KEYS, 0)
    for status, n in session.execute(
        select(Delivery.status, func.count())
        .where(Delivery.broadcast_id == broadcast_id)
        .group_by(Delivery.status)
    ).all():
        bucket = STATUS_BUCKETS.get(status, status)
        counts[bucket] = counts.get(bucket, 0) + n
    return counts


def broadcast_stats(
    session: Session, *, limit: int = 20, now: datetime | None = None
) -> list[dict[str, Any]]:
    """The latest broadcasts with their delivery counts and, while sending, an ETA."""
    now = now or utcnow()
    latest = session.scalars(select(Broadcast).order_by(Broadcast.id.desc()).limit(limit))
    return [broadcast_summary(session, broadcast, now) for broadcast in latest]


def broadcast_summary(
    session: Session, broadcast: Broadcast, now: datetime | None = None
) -> dict[str, Any]:
    """One broadcast as staff see it (the CLI, the console and the API alike)."""
    counts = status_counts(session, broadcast.id)
    return {
        "id": broadcast.id,
        "kind": broadcast.kind,
        "target": broadcast.target,
        "status": broadcast.status,
        "urgent": broadcast.urgent,
        "recipients": broadcast.recipients,
        "created_at": aware(broadcast.created_at).isoformat(),
        "send_at": aware(broadcast.send_at).isoformat() if broadcast.send_at else None,
        "finished_at": (
            aware(broadcast.finished_at).isoformat() if broadcast.finished_at else None
        ),
        "status_counts": counts,
        **_eta(broadcast, counts, now or utcnow()),
    }


def _eta(broadcast: Broadcast, counts: dict[str, int], now: datetime) -> dict[str, Any]:
    """Remaining time from the pace so far (the rate limit and Twilio's speed both show in it)."""
    if broadcast.status == "scheduled":
        due = aware(broadcast.send_at) if broadcast.send_at else None
        return {"eta": due.isoformat() if due else None, "eta_seconds": None}
    if broadcast.status != "sending" or broadcast.prepared_at is None:
        return {"eta": None, "eta_seconds": None}
    remaining = counts["pending"] + counts["sending"]
    handled = sum(counts.values()) - remaining
    elapsed = (now - aware(broadcast.prepared_at)).total_seconds()
    if handled == 0 or elapsed <= 0:
        return {"eta": None, "eta_seconds": None}
    seconds = round(remaining * elapsed / handled)
    return {"eta": (now + timedelta(seconds=seconds)).isoformat(), "eta_seconds": seconds}


__all__ = [
    "DEFAULT_QUIET_HOURS",
    "MissingLanguageError",
    "QuietHours",
    "audience_languages",
    "broadcast_stats",
    "broadcast_summary",
    "cancel_broadcast",
    "create_broadcast",
    "finish_if_complete",
    "recipients_query",
]
