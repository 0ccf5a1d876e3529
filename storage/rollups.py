"""Evidence rollups: the event tables counted per La Paz day and zona, kept current by the
worker (refresh) and rebuilt from scratch on demand (rebuild).

Every rollup is a function of the same rows storage/evidence.py reads, counted by the day of
the event, so recounting a day gives the same figures however often it runs. refresh() finds
what changed since it last ran and recounts only the days, residents, reports, broadcasts and
polls that change touches:
- texts and votes past the last id seen (late ones included: a text stamped in a day already
  counted recounts that resident, and the days whose "previous active day" moves); a text
  Twilio repeats has the same MessageSid, is stored once (unique sid) and changes nothing;
- residents whose consent, opt-out, return (ALTA), erasure or language changed, found by
  comparing them with what the rollups last saw (evidence_resident_marks);
- zona changes, "me too", report events and deliveries past the last id seen;
- broadcasts of the last SETTLE days, whose delivery statuses Twilio is still reporting.

Reading the rollups (bot/evidence/measures.py) is then sums over a few thousand rows.
"""

from __future__ import annotations

import functools
import logging
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Date,
    and_,
    case,
    cast,
    delete,
    distinct,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    union,
    union_all,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import Grouping

from storage.enums import ResidentStatus
from storage.evidence import zone_at
from storage.models import (
    Broadcast,
    Delivery,
    EvidenceActive,
    EvidenceBroadcast,
    EvidenceDay,
    EvidenceMark,
    EvidenceOptOutAfter,
    EvidencePoll,
    EvidenceReport,
    EvidenceResidentDay,
    EvidenceResidentMark,
    Poll,
    ReceivedMessage,
    Report,
    ReportEvent,
    ReportSupporter,
    Resident,
    ResidentZone,
    Vote,
    Zone,
    aware,
    utcnow,
)

log = logging.getLogger(__name__)

LA_PAZ = ZoneInfo("America/La_Paz")
NEVER = date(1900, 1, 1)  # "no previous active day"
LOOKBACK = 200  # ids re-read behind each mark (transactions that committed out of order)
SETTLE = timedelta(days=8)  # delivery statuses and opt-outs within 7 days still move
OPT_OUT_AFTER = timedelta(days=7)
DELIVERED = ("delivered", "read")
FAILED = ("failed", "undelivered")
CHANNELS = ("sms", "whatsapp")
MARKS = ("texts", "votes", "zones", "supporters", "reports", "report_events", "deliveries")
SOURCES = {
    "texts": ReceivedMessage.id,
    "votes": Vote.id,
    "zones": ResidentZone.id,
    "supporters": ReportSupporter.id,
    "reports": Report.id,
    "report_events": ReportEvent.id,
    "deliveries": Delivery.id,
}


def local_day(moment: datetime) -> date:
    return aware(moment).astimezone(LA_PAZ).date()


def midnight(day: date) -> datetime:
    """Midnight in La Paz at the start of `day`, in UTC."""
    return datetime(day.year, day.month, day.day, tzinfo=LA_PAZ).astimezone(UTC)


def day_of(session: Session, moment: Any) -> ColumnElement[Any]:
    """The La Paz day of a stored moment, computed by the database."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.timezone("America/La_Paz", moment), Date)
    # SQLite keeps UTC wall time; La Paz is UTC-4 all year (no daylight saving).
    return func.date(moment, "-4 hours")


def _zone(expr: Any) -> ColumnElement[Any]:
    return func.coalesce(expr, 0)


def _runs(days: Iterable[date]) -> list[tuple[date, date]]:
    """Sorted days as [first, end) runs of consecutive days."""
    out: list[tuple[date, date]] = []
    for day in sorted(set(days)):
        if out and out[-1][1] == day:
            out[-1] = (out[-1][0], day + timedelta(days=1))
        else:
            out.append((day, day + timedelta(days=1)))
    return out


def _chunks(items: Collection[Any], size: int = 500) -> Iterator[list[Any]]:
    ordered = sorted(items)
    for i in range(0, len(ordered), size):
        yield ordered[i : i + size]


# ---------------------------------------------------------------------------------------------
# Marks


def built(session: Session) -> bool:
    """Whether the rollups have been built (and are kept by the worker since)."""
    return session.get(EvidenceMark, "built") is not None


def built_at(session: Session) -> datetime | None:
    mark = session.get(EvidenceMark, "built")
    return None if mark is None or mark.at is None else aware(mark.at)


def _marks(session: Session) -> dict[str, int]:
    return {m.name: m.value for m in session.scalars(select(EvidenceMark))}


def _set_mark(session: Session, name: str, value: int, now: datetime) -> None:
    mark = session.get(EvidenceMark, name)
    if mark is None:
        session.add(EvidenceMark(name=name, value=value, at=now))
    else:
        mark.value, mark.at = value, now


def _latest_ids(session: Session) -> dict[str, int]:
    return {name: session.scalar(select(func.max(col))) or 0 for name, col in SOURCES.items()}


# ---------------------------------------------------------------------------------------------
# Active residents: resident-days, then counts by (scope, day, previous day)


def _activity(session: Session, residents: Collection[int] | None) -> Any:
    """(resident, channel, day, zona) of every text after consent and every vote."""
    texts = (
        select(
            ReceivedMessage.resident_id.label("rid"),
            ReceivedMessage.received_at.label("at"),
            ReceivedMessage.channel.label("channel"),
        )
        .join(Resident, Resident.id == ReceivedMessage.resident_id)
        .where(Resident.consent_at.is_not(None), Resident.consent_at <= ReceivedMessage.received_at)
    )
    votes = select(
        Vote.resident_id.label("rid"), Vote.created_at.label("at"), literal("vote").label("channel")
    )
    if residents is not None:
        texts = texts.where(ReceivedMessage.resident_id.in_(list(residents)))
        votes = votes.where(Vote.resident_id.in_(list(residents)))
    both = union_all(texts, votes).subquery()
    placed = select(
        both.c.rid,
        both.c.channel,
        day_of(session, both.c.at).label("day"),
        _zone(zone_at(both.c.rid, both.c.at)).label("zone"),
    ).subquery()
    anything = select(placed.c.rid, literal("*").label("channel"), placed.c.day, placed.c.zone)
    by_channel = select(placed.c.rid, placed.c.channel, placed.c.day, placed.c.zone).where(
        placed.c.channel != "vote"
    )
    days = union(anything, by_channel).subquery()
    keyed = (
        select(
            days.c.rid,
            days.c.channel,
            days.c.day,
            days.c.zone,
            _zone(Zone.macrodistrict_id).label("macro"),
        )
        .outerjoin(Zone, Zone.id == days.c.zone)
        .subquery()
    )
    by_resident = (keyed.c.rid, keyed.c.channel)
    return select(
        keyed.c.rid,
        keyed.c.channel,
        keyed.c.day,
        keyed.c.zone,
        keyed.c.macro,
        func.lag(keyed.c.day).over(partition_by=(*by_resident, keyed.c.zone), order_by=keyed.c.day),
        func.lag(keyed.c.day).over(
            partition_by=(*by_resident, keyed.c.macro), order_by=(keyed.c.day, keyed.c.zone)
        ),
        func.lag(keyed.c.day).over(partition_by=by_resident, order_by=(keyed.c.day, keyed.c.zone)),
    )


RESIDENT_DAY_COLUMNS = (
    "resident_id",
    "channel",
    "day",
    "zone_id",
    "macro_id",
    "prev_zone",
    "prev_macro",
    "prev_city",
)


def _resident_day_rows(session: Session, residents: Collection[int]) -> set[tuple[Any, ...]]:
    rows = session.execute(
        select(*(getattr(EvidenceResidentDay, c) for c in RESIDENT_DAY_COLUMNS)).where(
            EvidenceResidentDay.resident_id.in_(list(residents))
        )
    ).all()
    return {tuple(r) for r in rows}


def _recount_residents_activity(session: Session, residents: Collection[int]) -> set[date]:
    """Rewrite these residents' resident-days; the days whose counts changed."""
    changed: set[date] = set()
    for chunk in _chunks(residents):
        before = _resident_day_rows(session, chunk)
        session.execute(
            delete(EvidenceResidentDay).where(EvidenceResidentDay.resident_id.in_(chunk))
        )
        session.execute(
            insert(EvidenceResidentDay).from_select(
                list(RESIDENT_DAY_COLUMNS), _activity(session, chunk)
            )
        )
        after = _resident_day_rows(session, chunk)
        changed |= {_as_date(row[2]) for row in before ^ after}
    return changed


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _recount_active(session: Session, days: Collection[date] | None) -> None:
    """Recount evidence_active for these days (None: all) from the resident-days."""
    rd = EvidenceResidentDay
    where = [] if days is None else [rd.day.in_(list(days))]
    if days is not None:
        for chunk in _chunks(days):
            session.execute(delete(EvidenceActive).where(EvidenceActive.day.in_(chunk)))
    else:
        session.execute(delete(EvidenceActive))
    scopes: tuple[tuple[str, Any, Any], ...] = (
        ("c", literal(0), rd.prev_city),
        ("m", rd.macro_id, rd.prev_macro),
        ("z", rd.zone_id, rd.prev_zone),
    )
    for scope, scope_id, prev in scopes:
        previous = func.coalesce(prev, NEVER)
        query = (
            select(literal(scope), scope_id, rd.channel, rd.day, previous, func.count())
            .where(*where)
            .group_by(scope_id, rd.channel, rd.day, previous)
        )
        session.execute(
            insert(EvidenceActive).from_select(
                ["scope", "scope_id", "channel", "day", "prev", "n"], query
            )
        )


# ---------------------------------------------------------------------------------------------
# Daily counts: sign-ups, departures, moves, opt-outs, "me too"


def _daily_queries(session: Session, start: datetime, end: datetime) -> list[Any]:
    """SELECTs of (day, zona, measure, key, n) for events in [start, end)."""
    language = func.coalesce(Resident.language, "unknown")
    left = func.coalesce(Resident.opted_out_at, Resident.erased_at)
    out_now = Resident.status.in_((ResidentStatus.OPTED_OUT, ResidentStatus.ERASED))

    def grouped(moment: Any, zone: Any, measure: str, key: Any, *where: Any) -> Any:
        day = day_of(session, moment)
        zone = _zone(zone)
        return (
            select(day, zone, literal(measure), key, func.count())
            .where(moment >= start, moment < end, *where)
            .group_by(day, zone, key)
        )

    consented = Resident.consent_at.is_not(None)
    queries = [
        grouped(
            Resident.consent_at,
            zone_at(Resident.id, Resident.consent_at),
            "joined",
            language,
            consented,
        ),
        grouped(left, zone_at(Resident.id, left), "left", language, consented, out_now),
        grouped(
            Resident.opted_out_at,
            zone_at(Resident.id, Resident.opted_out_at),
            "opted_out",
            literal(""),
            consented,
        ),
    ]
    # A move: a zona row after consent (and before leaving) whose zona differs from the one
    # before it; the resident leaves the old zona and enters the new one that day.
    earlier = aliased(ResidentZone)
    before = (
        select(earlier.zone_id)
        .where(
            earlier.resident_id == ResidentZone.resident_id,
            or_(
                earlier.since < ResidentZone.since,
                and_(earlier.since == ResidentZone.since, earlier.id < ResidentZone.id),
            ),
        )
        .order_by(earlier.since.desc(), earlier.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    moves = (
        select(
            ResidentZone.since.label("at"),
            ResidentZone.zone_id.label("new"),
            before.label("old"),
            language.label("language"),
        )
        .join(Resident, Resident.id == ResidentZone.resident_id)
        .where(
            consented,
            ResidentZone.since > Resident.consent_at,
            or_(~out_now, left.is_(None), ResidentZone.since < left),
            ResidentZone.since >= start,
            ResidentZone.since < end,
        )
        .subquery()
    )
    moved = moves.c.old.is_not(None), moves.c.old != moves.c.new
    for measure, zone in (("moved_in", moves.c.new), ("moved_out", moves.c.old)):
        day, place = day_of(session, moves.c.at), _zone(zone)
        queries.append(
            select(day, place, literal(measure), moves.c.language, func.count())
            .where(*moved)
            .group_by(day, place, moves.c.language)
        )
    support_day = day_of(session, ReportSupporter.created_at)
    support_zone = _zone(Report.zone_id)
    queries.append(
        select(support_day, support_zone, literal("supporters"), literal(""), func.count())
        .join(Report, Report.id == ReportSupporter.report_id)
        .where(ReportSupporter.created_at >= start, ReportSupporter.created_at < end)
        .group_by(support_day, support_zone)
    )
    return queries


def _recount_daily(session: Session, days: Collection[date] | None) -> None:
    """Recount evidence_daily for these days (None: everything)."""
    if days is None:
        session.execute(delete(EvidenceDay))
        first = session.scalar(select(func.min(Resident.consent_at)))
        moments = [
            session.scalar(select(func.max(column)))
            for column in (
                Resident.consent_at,
                Resident.opted_out_at,
                Resident.erased_at,
                ResidentZone.since,
                ReportSupporter.created_at,
            )
        ]
        last = max([local_day(m) for m in moments if m is not None] + [local_day(utcnow())])
        runs = [] if first is None else [(local_day(first), last + timedelta(days=1))]
        # A year at a time keeps each statement's working set small on a large city.
        runs = [
            (a, min(a + timedelta(days=366), b))
            for a0, b in runs
            for a in _steps(a0, b, timedelta(days=366))
        ]
    else:
        runs = _runs(days)
        for a, b in runs:
            session.execute(delete(EvidenceDay).where(EvidenceDay.day >= a, EvidenceDay.day < b))
    for a, b in runs:
        totals: dict[tuple[Any, ...], int] = defaultdict(int)
        for query in _daily_queries(session, midnight(a), midnight(b)):
            for day, zone, measure, key, n in session.execute(query):
                totals[(_as_date(day), zone, measure, key)] += n
        if totals:
            session.execute(
                insert(EvidenceDay),
                [
                    {"day": d, "zone_id": z, "measure": m, "key": k, "n": n}
                    for (d, z, m, k), n in totals.items()
                ],
            )


def _steps(first: date, end: date, step: timedelta) -> Iterator[date]:
    cursor = first
    while cursor < end:
        yield cursor
        cursor += step


# ---------------------------------------------------------------------------------------------
# Reports: one row each (medians and p90 cannot be summed)


def _hours(later: datetime, earlier: datetime) -> float:
    return (aware(later) - aware(earlier)).total_seconds() / 3600


def _recount_reports(session: Session, report_ids: Collection[int] | None) -> int:
    """Rewrite the rows of these reports (None: all); how many were written."""
    written = 0
    if report_ids is None:
        session.execute(delete(EvidenceReport))
        ids: list[int] = list(session.scalars(select(Report.id).order_by(Report.id)))
    else:
        ids = sorted(report_ids)
    for chunk in _chunks(ids, 2000):
        if report_ids is not None:
            session.execute(delete(EvidenceReport).where(EvidenceReport.report_id.in_(chunk)))
        filed = session.execute(
            select(
                Report.id, Report.zone_id, Report.category, Report.status, Report.created_at
            ).where(Report.id.in_(chunk))
        ).all()
        history: dict[int, list[Any]] = defaultdict(list)
        for report_id, status, source, at in session.execute(
            select(ReportEvent.report_id, ReportEvent.status, ReportEvent.source,
                   ReportEvent.created_at)
            .where(ReportEvent.report_id.in_(chunk))
            .order_by(ReportEvent.report_id, ReportEvent.created_at, ReportEvent.id)
        ):  # fmt: skip
            history[report_id].append((status, source, at))
        rows = []
        for report_id, zone_id, category, status, created in filed:
            by_city = [(s, at) for s, src, at in history[report_id] if src != "resident"]
            first = _hours(by_city[0][1], created) if by_city else None
            resolutions = [at for s, at in by_city if s == "resolved"]
            resolution = _hours(resolutions[0], created) if resolutions else None
            answers = [s for s, src, _at in history[report_id] if src == "resident"][1:]
            rows.append(
                {
                    "report_id": report_id,
                    "zone_id": zone_id or 0,
                    "day": local_day(created),
                    "category": category,
                    "status": status,
                    "first_change_hours": first,
                    "resolution_hours": resolution,
                    "confirmed": bool(resolutions) and "resolved" in answers,
                    "reopened": bool(resolutions) and "received" in answers,
                }
            )
        if rows:
            session.execute(insert(EvidenceReport), rows)
        written += len(rows)
    return written


# ---------------------------------------------------------------------------------------------
# Broadcasts and polls


def _recount_broadcasts(session: Session, broadcast_ids: Collection[int] | None) -> None:
    if broadcast_ids is None:
        session.execute(delete(EvidenceBroadcast))
        session.execute(delete(EvidenceOptOutAfter))
        chunks: Iterable[list[int]] = [
            list(session.scalars(select(Broadcast.id).order_by(Broadcast.id)))
        ]
    else:
        chunks = _chunks(broadcast_ids)
    for chunk in chunks:
        if not chunk:
            continue
        if broadcast_ids is not None:
            session.execute(
                delete(EvidenceBroadcast).where(EvidenceBroadcast.broadcast_id.in_(chunk))
            )
            session.execute(
                delete(EvidenceOptOutAfter).where(EvidenceOptOutAfter.broadcast_id.in_(chunk))
            )
        zone = _zone(zone_at(Delivery.resident_id, Broadcast.created_at)).label("zone")
        placed = (
            select(
                Broadcast.id.label("bid"),
                Broadcast.created_at.label("created_at"),
                Delivery.resident_id.label("rid"),
                Delivery.status.label("status"),
                Resident.opted_out_at.label("out"),
                zone,
            )
            .join(Delivery, Delivery.broadcast_id == Broadcast.id)
            .join(Resident, Resident.id == Delivery.resident_id)
            .where(Broadcast.id.in_(chunk))
            .subquery()
        )
        day = day_of(session, placed.c.created_at)
        session.execute(
            insert(EvidenceBroadcast).from_select(
                ["broadcast_id", "zone_id", "day", "recipients", "delivered", "failed"],
                select(
                    placed.c.bid,
                    placed.c.zone,
                    func.min(day),
                    func.count(),
                    func.sum(case((placed.c.status.in_(DELIVERED), 1), else_=0)),
                    func.sum(case((placed.c.status.in_(FAILED), 1), else_=0)),
                ).group_by(placed.c.bid, placed.c.zone),
            )
        )
        rows = session.execute(
            select(placed.c.bid, placed.c.rid, placed.c.zone, placed.c.created_at, placed.c.out)
            .where(placed.c.out.is_not(None))
        ).all()  # fmt: skip
        after = [
            {"broadcast_id": b, "resident_id": r, "zone_id": z, "day": local_day(at)}
            for b, r, z, at, out in rows
            if aware(at) <= aware(out) < aware(at) + OPT_OUT_AFTER
        ]
        if after:
            session.execute(insert(EvidenceOptOutAfter), after)


def _recount_polls(session: Session, poll_ids: Collection[int] | None) -> None:
    if poll_ids is None:
        session.execute(delete(EvidencePoll))
        chunks: Iterable[list[int]] = [list(session.scalars(select(Poll.id).order_by(Poll.id)))]
    else:
        chunks = _chunks(poll_ids)
    for chunk in chunks:
        if not chunk:
            continue
        if poll_ids is not None:
            session.execute(delete(EvidencePoll).where(EvidencePoll.poll_id.in_(chunk)))
        voted = (
            select(Vote.id)
            .where(Vote.poll_id == Poll.id, Vote.resident_id == Delivery.resident_id)
            .exists()
        )
        invites = (
            select(
                Poll.id.label("poll"),
                Poll.created_at.label("created_at"),
                Delivery.resident_id.label("rid"),
                voted.label("voted"),
                _zone(zone_at(Delivery.resident_id, Poll.created_at)).label("zone"),
            )
            .join(Broadcast, Broadcast.poll_id == Poll.id)
            .join(Delivery, Delivery.broadcast_id == Broadcast.id)
            .where(Poll.id.in_(chunk), Delivery.status.not_in(("canceled", "opted_out")))
            .distinct()
            .subquery()
        )
        day = day_of(session, invites.c.created_at)
        session.execute(
            insert(EvidencePoll).from_select(
                ["poll_id", "zone_id", "day", "invited", "voted"],
                select(
                    invites.c.poll,
                    invites.c.zone,
                    func.min(day),
                    func.count(),
                    func.sum(case((invites.c.voted, 1), else_=0)),
                ).group_by(invites.c.poll, invites.c.zone),
            )
        )


# ---------------------------------------------------------------------------------------------
# Residents: what changed since the rollups last looked


def _left_expr() -> ColumnElement[Any]:
    out_now = Resident.status.in_((ResidentStatus.OPTED_OUT, ResidentStatus.ERASED))
    return case((out_now, func.coalesce(Resident.opted_out_at, Resident.erased_at)), else_=None)


def _changed_residents(session: Session) -> list[tuple[int, tuple[Any, ...], tuple[Any, ...]]]:
    """Residents whose counted facts differ from their mark: (id, before, now)."""
    mark = EvidenceResidentMark
    language = func.coalesce(Resident.language, "unknown")
    left = _left_expr()
    now_cols = (Resident.consent_at, left, Resident.opted_out_at, language)
    mark_cols = (mark.consent_at, mark.left_at, mark.opted_out_at, mark.language)
    differs = or_(
        *(
            or_(
                and_(a.is_(None), b.is_not(None)),
                and_(a.is_not(None), b.is_(None)),
                a != b,
            )
            for a, b in zip(now_cols, mark_cols, strict=True)
        )
    )
    out: list[tuple[int, tuple[Any, ...], tuple[Any, ...]]] = []
    changed = session.execute(
        select(Resident.id, *now_cols, *mark_cols)
        .outerjoin(mark, mark.resident_id == Resident.id)
        .where(or_(Resident.consent_at.is_not(None), mark.resident_id.is_not(None)))
        .where(or_(mark.resident_id.is_(None), differs))
    ).all()
    for rid, *values in changed:
        out.append((rid, tuple(values[4:]), tuple(values[:4])))
    gone = session.execute(
        select(mark.resident_id, *mark_cols).where(~exists().where(Resident.id == mark.resident_id))
    ).all()
    for rid, *values in gone:
        out.append((rid, tuple(values), (None, None, None, None)))
    return out


def _save_marks(
    session: Session, changes: list[tuple[int, tuple[Any, ...], tuple[Any, ...]]]
) -> None:
    ids = [rid for rid, _b, _n in changes]
    for chunk in _chunks(ids):
        session.execute(
            delete(EvidenceResidentMark).where(EvidenceResidentMark.resident_id.in_(chunk))
        )
    rows = [
        {
            "resident_id": rid,
            "consent_at": now[0],
            "left_at": now[1],
            "opted_out_at": now[2],
            "language": now[3] or "unknown",
        }
        for rid, _before, now in changes
        if any(v is not None for v in now[:3])
    ]
    for i in range(0, len(rows), 5000):
        session.execute(insert(EvidenceResidentMark), rows[i : i + 5000])


def _mark_all_residents(session: Session) -> None:
    session.execute(delete(EvidenceResidentMark))
    session.execute(
        insert(EvidenceResidentMark).from_select(
            ["resident_id", "consent_at", "left_at", "opted_out_at", "language"],
            select(
                Resident.id,
                Resident.consent_at,
                _left_expr(),
                Resident.opted_out_at,
                func.coalesce(Resident.language, "unknown"),
            ).where(Resident.consent_at.is_not(None)),
        )
    )


# ---------------------------------------------------------------------------------------------
# Refresh and rebuild


@dataclass
class Refreshed:
    residents: int = 0  # residents whose activity was recounted
    days: int = 0  # days whose counts were recounted
    reports: int = 0
    broadcasts: int = 0
    polls: int = 0
    rebuilt: bool = False
    notes: list[str] = field(default_factory=list)


def rebuild(session: Session, now: datetime | None = None) -> Refreshed:
    """Count everything again from the event tables (the marks move to the latest rows)."""
    now = now or utcnow()
    latest = _latest_ids(session)
    session.execute(delete(EvidenceResidentDay))
    session.execute(
        insert(EvidenceResidentDay).from_select(
            list(RESIDENT_DAY_COLUMNS), _activity(session, None)
        )
    )
    _recount_active(session, None)
    _recount_daily(session, None)
    reports = _recount_reports(session, None)
    _recount_broadcasts(session, None)
    _recount_polls(session, None)
    _mark_all_residents(session)
    for name, value in latest.items():
        _set_mark(session, name, value, now)
    _set_mark(session, "built", 0, now)
    if session.get_bind().dialect.name == "postgresql":
        for table in ("evidence_resident_days", "evidence_active", "evidence_daily",
                      "evidence_reports"):  # fmt: skip
            session.execute(text(f"ANALYZE {table}"))  # plans fit the new sizes at once
    return Refreshed(reports=reports, rebuilt=True)


def _new_since(session: Session, column: Any, mark: int, latest: int, *cols: Any) -> list[Any]:
    if latest <= mark:
        return []
    return list(session.execute(select(*cols).where(column > mark, column <= latest)).all())


def refresh(session: Session, now: datetime | None = None) -> Refreshed:
    """Bring the rollups up to date with what changed since the last refresh (or rebuild).

    The caller owns the transaction; run it in one so a crash leaves the marks unmoved and
    the next run counts the same changes again."""
    now = now or utcnow()
    if not built(session):
        return rebuild(session, now)
    marks = _marks(session)
    latest = _latest_ids(session)
    done = Refreshed()

    def since(name: str, *cols: Any) -> list[Any]:
        # Ids are handed out before commit: a row with a lower id can become visible after a
        # higher one was read. Looking LOOKBACK ids back catches it; recounting is idempotent.
        mark = max(0, marks.get(name, 0) - LOOKBACK)
        return _new_since(session, SOURCES[name], mark, latest[name], *cols)

    daily_days: set[date] = set()
    active_residents: set[int] = set()
    reports: set[int] = set()
    broadcasts: set[int] = set()
    polls: set[int] = set()

    for rid, _at in since("texts", ReceivedMessage.resident_id, ReceivedMessage.received_at):
        if rid is not None:
            active_residents.add(rid)
    for rid, poll_id in since("votes", Vote.resident_id, Vote.poll_id):
        active_residents.add(rid)
        polls.add(poll_id)
    for rid, at in since("zones", ResidentZone.resident_id, ResidentZone.since):
        daily_days.add(local_day(at))
        active_residents.add(rid)  # a zona row can place earlier texts (before the first row)
    for (at,) in since("supporters", ReportSupporter.created_at):
        daily_days.add(local_day(at))
    reports |= {r for (r,) in since("reports", Report.id)}
    reports |= {r for (r,) in since("report_events", ReportEvent.report_id)}
    reports |= set(
        session.scalars(
            select(EvidenceReport.report_id)
            .join(Report, Report.id == EvidenceReport.report_id)
            .where(EvidenceReport.status != Report.status)
        )
    )
    broadcasts |= {b for (b,) in since("deliveries", Delivery.broadcast_id)}
    broadcasts |= set(
        session.scalars(select(Broadcast.id).where(Broadcast.created_at >= now - SETTLE))
    )

    changes = _changed_residents(session)
    changed_ids = [rid for rid, _b, _n in changes]
    for _rid, before, after in changes:
        for moment in (*before[:3], *after[:3]):
            if moment is not None:
                daily_days.add(local_day(moment))
    for chunk in _chunks(changed_ids):
        for (since_at,) in session.execute(
            select(ResidentZone.since).where(ResidentZone.resident_id.in_(chunk))
        ):
            daily_days.add(local_day(since_at))  # moves are keyed by language
        broadcasts |= set(
            session.scalars(
                select(Delivery.broadcast_id).distinct().where(Delivery.resident_id.in_(chunk))
            )
        )
    active_residents |= set(changed_ids)  # consent moves which texts count

    active_days = _recount_residents_activity(session, active_residents)
    if active_days:
        _recount_active(session, active_days)
    if daily_days:
        _recount_daily(session, daily_days)
    if reports:
        done.reports = _recount_reports(session, reports)
    # Orphans: a report deleted with its resident.
    session.execute(
        delete(EvidenceReport).where(~exists().where(Report.id == EvidenceReport.report_id))
    )
    if broadcasts:
        _recount_broadcasts(session, broadcasts)
        polls |= {
            p
            for p in session.scalars(
                select(Broadcast.poll_id).where(
                    Broadcast.id.in_(list(broadcasts)), Broadcast.poll_id.is_not(None)
                )
            )
            if p is not None
        }
    if polls:
        _recount_polls(session, polls)
    _save_marks(session, changes)
    for name, value in latest.items():
        _set_mark(session, name, value, now)
    _set_mark(session, "built", 0, now)
    done.residents = len(active_residents)
    done.days = len(daily_days | active_days)
    done.broadcasts = len(broadcasts)
    done.polls = len(polls)
    return done


# ---------------------------------------------------------------------------------------------
# Reading


Zones = Collection[int] | None


def _in(column: Any, zones: Zones) -> list[Any]:
    return [] if zones is None else [column.in_(list(zones))]


def signed_up_by_language(session: Session, zones: Zones, end: date) -> dict[str, int]:
    """Residents signed up at the start of `end` (La Paz day), by language."""
    d = EvidenceDay
    sign = case(
        (d.measure.in_(("joined", "moved_in")), d.n),
        (d.measure.in_(("left", "moved_out")), -d.n),
        else_=0,
    )
    rows = session.execute(
        select(d.key, func.sum(sign))
        .where(
            d.day < end,
            d.measure.in_(("joined", "left", "moved_in", "moved_out")),
            *_in(d.zone_id, zones),
        )
        .group_by(d.key)
    ).all()
    return {k: int(n) for k, n in rows if n}


def macro_of(session: Session, zone_ids: Collection[int]) -> int | None:
    """The macrodistrito these zonas make up exactly, if they do."""
    macros = set(session.scalars(select(Zone.macrodistrict_id).where(Zone.id.in_(list(zone_ids)))))
    if len(macros) != 1:
        return None
    macro = next(iter(macros))
    every = set(session.scalars(select(Zone.id).where(Zone.macrodistrict_id == macro)))
    return macro if every == set(zone_ids) else None


# ---------------------------------------------------------------------------------------------
# Reading many periods at once: each rollup is read once for the whole range and split by
# period here (one place, a year of weeks: a dozen statements, not a dozen per week).

Span = tuple[date, date]


@functools.lru_cache(maxsize=16)
def _span_case(table: str, spans: tuple[Span, ...], dialect: str) -> tuple[Any, Any]:
    """SQL for the index of the span holding a row's day, and that span's first day (spans
    are consecutive, so the first span ending after the day holds it). Kept: an export asks
    the same for every place."""
    day = (EvidenceActive if table == "active" else EvidenceResidentDay).day
    if dialect == "postgresql":  # a binary search over the spans' first days
        bound = literal([a for a, _b in spans], postgresql.ARRAY(Date))  # one bound array
        firsts = Grouping(bound)
        bucket = func.width_bucket(day, bound)
        return bucket - 1, firsts[bucket]
    index = case(*((day < literal(b), literal(i)) for i, (_a, b) in enumerate(spans)), else_=-1)
    start = case(*((day < literal(b), literal(a)) for _i, (a, b) in enumerate(spans)))
    return index, start


def _span_of(spans: list[Span]) -> dict[date, int]:
    """Day -> index of the span holding it."""
    out: dict[date, int] = {}
    for i, (a, b) in enumerate(spans):
        day = a
        while day < b:
            out[day] = i
            day += timedelta(days=1)
    return out


@dataclass
class SpanRows:
    """Everything the measures need for one place over spans, fetched in a few statements."""

    base: dict[str, int]  # signed up by language before the first span
    daily: list[tuple[date, str, str, int]]  # (day, measure, key, n) within the range
    active: list[dict[str, int]]  # per span, channel -> residents
    reports: list[tuple[Any, ...]]  # (day, category, status, n, resolved, confirmed, reopened)
    hours: list[tuple[date, float, float | None]]  # (day, to first change, to resolution)
    polls: list[tuple[date, int, int, int]]  # (day, poll, invited, voted)
    broadcasts: list[tuple[date, int, int, int, int]]  # (day, broadcast, recipients, ...)
    opt_outs_after: list[tuple[date, int]]  # (day, resident)


def span_rows(
    session: Session, zones: Zones, scope: tuple[str, int] | None, spans: list[Span]
) -> SpanRows:
    """scope: ("c", 0), ("m", macro) or ("z", zona) to count active residents from
    evidence_active; None (a group of zonas) counts them from the resident-days."""
    lo, hi = spans[0][0], spans[-1][1]
    connection = session.connection()

    def run(query: Any) -> Any:
        return connection.execute(query).all()  # Core rows, fetched at once: no ORM overhead

    base = signed_up_by_language(session, zones, lo)
    d = EvidenceDay
    daily = [
        (_as_date(day), m, k, int(n))
        for day, m, k, n in run(
            select(d.day, d.measure, d.key, func.sum(d.n))
            .where(d.day >= lo, d.day < hi, *_in(d.zone_id, zones))
            .group_by(d.day, d.measure, d.key)
        )
    ]
    active = active_rows(session, zones, scope, spans)
    r = EvidenceReport
    in_range = (r.day >= lo, r.day < hi, *_in(r.zone_id, zones))
    reports = [
        (_as_date(day), category, status, int(n), int(resolved or 0), int(ok or 0), int(re or 0))
        for day, category, status, n, resolved, ok, re in run(
            select(
                r.day,
                r.category,
                r.status,
                func.count(),
                func.count(r.resolution_hours),
                func.sum(case((r.confirmed, 1), else_=0)),
                func.sum(case((r.reopened, 1), else_=0)),
            )
            .where(*in_range)
            .group_by(r.day, r.category, r.status)
        )
    ]
    # Medians and p90 need the times themselves: two narrow columns, read without the ORM.
    hours = [
        (_as_date(day), first, resolution)
        for day, first, resolution in run(
            select(r.day, r.first_change_hours, r.resolution_hours).where(
                *in_range, r.first_change_hours.is_not(None)
            )
        )
    ]
    p = EvidencePoll
    polls = [
        (_as_date(day), poll, int(inv), int(vot))
        for day, poll, inv, vot in run(
            select(p.day, p.poll_id, func.sum(p.invited), func.sum(p.voted))
            .where(p.day >= lo, p.day < hi, *_in(p.zone_id, zones))
            .group_by(p.day, p.poll_id)
        )
    ]
    b = EvidenceBroadcast
    broadcasts = [
        (_as_date(day), bid, int(n), int(ok), int(bad))
        for day, bid, n, ok, bad in run(
            select(
                b.day,
                b.broadcast_id,
                func.sum(b.recipients),
                func.sum(b.delivered),
                func.sum(b.failed),
            )
            .where(b.day >= lo, b.day < hi, *_in(b.zone_id, zones))
            .group_by(b.day, b.broadcast_id)
        )  # fmt: skip
    ]
    o = EvidenceOptOutAfter
    after = [
        (_as_date(day), rid)
        for day, rid in run(
            select(o.day, o.resident_id).where(o.day >= lo, o.day < hi, *_in(o.zone_id, zones))
        )
    ]
    return SpanRows(base, daily, active, reports, hours, polls, broadcasts, after)


def split(rows: SpanRows, spans: list[Span]) -> list[dict[str, Any]]:
    """Per span: the raw ingredients of the measures (sums, sets and lists)."""
    out: list[dict[str, Any]] = [
        {
            "daily": defaultdict(int),
            "reports": [],
            "polls": set(),
            "invited": 0,
            "voted": 0,
            "broadcasts": set(),
            "recipients": 0,
            "delivered": 0,
            "failed": 0,
            "opted_out_after": set(),
            "active": rows.active[i],
        }
        for i in range(len(spans))
    ]
    which = _span_of(spans).get
    # Signed up at the end of each span: the base plus every move up to that end.
    running = defaultdict(int, rows.base)
    deltas: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for day, measure, key, n in rows.daily:
        i = which(day)
        if i is not None:
            out[i]["daily"][(measure, key)] += n
        if measure in ("joined", "moved_in"):
            deltas[day][key] += n
        elif measure in ("left", "moved_out"):
            deltas[day][key] -= n
    ordered = sorted(deltas.items())
    j = 0
    for i, (_a, b) in enumerate(spans):
        while j < len(ordered) and ordered[j][0] < b:
            for key, n in ordered[j][1].items():
                running[key] += n
            j += 1
        out[i]["signed_up"] = {k: n for k, n in sorted(running.items()) if n}
    for row in rows.reports:
        i = which(row[0])
        if i is not None:
            out[i]["reports"].append(row)
    for part in out:
        part["first_change"], part["resolution"] = [], []
    for day, first, resolution in rows.hours:
        i = which(day)
        if i is not None:
            out[i]["first_change"].append(first)
            if resolution is not None:
                out[i]["resolution"].append(resolution)
    for day, poll, invited, voted in rows.polls:
        i = which(day)
        if i is not None and invited:
            out[i]["polls"].add(poll)
            out[i]["invited"] += invited
            out[i]["voted"] += voted
    for day, bid, recipients, delivered, failed in rows.broadcasts:
        i = which(day)
        if i is not None:
            out[i]["broadcasts"].add(bid)
            out[i]["recipients"] += recipients
            out[i]["delivered"] += delivered
            out[i]["failed"] += failed
    for day, rid in rows.opt_outs_after:
        i = which(day)
        if i is not None:
            out[i]["opted_out_after"].add(rid)
    return out


def active_rows(
    session: Session, zones: Zones, scope: tuple[str, int] | None, spans: list[Span]
) -> list[dict[str, int]]:
    """Per span, channel -> active residents of one place (see span_rows)."""
    lo, hi = spans[0][0], spans[-1][1]
    connection = session.connection()

    def run(query: Any) -> Any:
        return connection.execute(query).all()

    active: list[dict[str, int]] = [{} for _ in spans]
    if scope is not None and len(spans) == 1:
        a = EvidenceActive  # one span: "previous day before it" is a plain index condition
        query = (
            select(literal(0), a.channel, func.sum(a.n))
            .where(a.scope == scope[0], a.scope_id == scope[1], a.day >= lo, a.day < hi)
            .where(a.prev < lo)
            .group_by(a.channel)
        )
    elif scope is not None:
        a = EvidenceActive
        index, start = _span_case("active", tuple(spans), session.get_bind().dialect.name)
        query = (
            select(index, a.channel, func.sum(a.n))
            .where(a.scope == scope[0], a.scope_id == scope[1], a.day >= lo, a.day < hi)
            .where(a.prev < start)
            .group_by(index, a.channel)
        )
    else:
        rd = EvidenceResidentDay
        index, _start = _span_case("days", tuple(spans), session.get_bind().dialect.name)
        query = (
            select(index, rd.channel, func.count(distinct(rd.resident_id)))
            .where(rd.day >= lo, rd.day < hi, rd.zone_id.in_(list(zones or ())))
            .group_by(index, rd.channel)
        )
    for i, channel, n in run(query):
        active[int(i)][channel] = int(n)
    return active


def span_rows_by_zone(session: Session, spans: list[Span]) -> dict[int, SpanRows]:
    """span_rows for every zona (0: none) at once, each rollup read in one statement; a
    macrodistrito or the city is then merge() of its zonas plus its own active residents."""
    lo, hi = spans[0][0], spans[-1][1]
    connection = session.connection()

    def run(query: Any) -> Any:
        return connection.execute(query).all()

    out: dict[int, SpanRows] = defaultdict(
        lambda: SpanRows({}, [], [{} for _ in spans], [], [], [], [], [])
    )
    d = EvidenceDay
    sign = case(
        (d.measure.in_(("joined", "moved_in")), d.n),
        (d.measure.in_(("left", "moved_out")), -d.n),
        else_=0,
    )
    for zone, key, n in run(
        select(d.zone_id, d.key, func.sum(sign))
        .where(d.day < lo, d.measure.in_(("joined", "left", "moved_in", "moved_out")))
        .group_by(d.zone_id, d.key)
    ):
        if n:
            out[zone].base[key] = int(n)
    for zone, day, m, k, n in run(
        select(d.zone_id, d.day, d.measure, d.key, d.n).where(d.day >= lo, d.day < hi)
    ):
        out[zone].daily.append((_as_date(day), m, k, int(n)))
    a = EvidenceActive
    if len(spans) == 1:
        index: Any = literal(0)
        where_prev = a.prev < lo
    else:
        index, start = _span_case("active", tuple(spans), session.get_bind().dialect.name)
        where_prev = a.prev < start
    for zone, i, channel, n in run(
        select(a.scope_id, index, a.channel, func.sum(a.n))
        .where(a.scope == "z", a.day >= lo, a.day < hi, where_prev)
        .group_by(a.scope_id, index, a.channel)
    ):
        out[zone].active[int(i)][channel] = int(n)
    r = EvidenceReport
    for zone, day, category, status, n, resolved, ok, re in run(
        select(
            r.zone_id,
            r.day,
            r.category,
            r.status,
            func.count(),
            func.count(r.resolution_hours),
            func.sum(case((r.confirmed, 1), else_=0)),
            func.sum(case((r.reopened, 1), else_=0)),
        )
        .where(r.day >= lo, r.day < hi)
        .group_by(r.zone_id, r.day, r.category, r.status)
    ):
        out[zone].reports.append(
            (_as_date(day), category, status, int(n), int(resolved or 0), int(ok or 0),
             int(re or 0))
        )  # fmt: skip
    for zone, day, first, resolution in run(
        select(r.zone_id, r.day, r.first_change_hours, r.resolution_hours).where(
            r.day >= lo, r.day < hi, r.first_change_hours.is_not(None)
        )
    ):
        out[zone].hours.append((_as_date(day), first, resolution))
    p = EvidencePoll
    for zone, day, poll, inv, vot in run(
        select(p.zone_id, p.day, p.poll_id, p.invited, p.voted).where(p.day >= lo, p.day < hi)
    ):
        out[zone].polls.append((_as_date(day), poll, int(inv), int(vot)))
    b = EvidenceBroadcast
    for zone, day, bid, n, ok, bad in run(
        select(b.zone_id, b.day, b.broadcast_id, b.recipients, b.delivered, b.failed).where(
            b.day >= lo, b.day < hi
        )
    ):
        out[zone].broadcasts.append((_as_date(day), bid, int(n), int(ok), int(bad)))
    o = EvidenceOptOutAfter
    for zone, day, rid in run(
        select(o.zone_id, o.day, o.resident_id).where(o.day >= lo, o.day < hi)
    ):
        out[zone].opt_outs_after.append((_as_date(day), rid))
    return dict(out)


def merge(parts: list[SpanRows], active: list[dict[str, int]]) -> SpanRows:
    """Several zonas' rows as one place's (active residents counted for the place itself)."""
    base: dict[str, int] = defaultdict(int)
    for part in parts:
        for key, n in part.base.items():
            base[key] += n
    return SpanRows(
        dict(base),
        [row for part in parts for row in part.daily],
        active,
        [row for part in parts for row in part.reports],
        [row for part in parts for row in part.hours],
        [row for part in parts for row in part.polls],
        [row for part in parts for row in part.broadcasts],
        [row for part in parts for row in part.opt_outs_after],
    )
