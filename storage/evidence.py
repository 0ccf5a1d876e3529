"""The rows the evidence measures are computed from (bot/evidence defines the measures).

Each function takes the session first, reads only, and returns plain tuples for one period
[start, end) and a set of zonas (None: the whole city). A resident is placed in the zona they
had at the moment of each event (resident_zone_history), so the past does not drift.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, literal, select, union_all
from sqlalchemy.orm import Session, aliased

from storage.enums import ResidentStatus
from storage.models import (
    Broadcast,
    Delivery,
    Macrodistrict,
    Poll,
    ReceivedMessage,
    Report,
    ReportEvent,
    ReportSupporter,
    Resident,
    ResidentZone,
    ServiceOffer,
    ServiceSearch,
    Vote,
    Zone,
)

Zones = Collection[int] | None


def zone_at(resident_id: Any, moment: Any) -> ColumnElement[Any]:
    """The resident's zona at `moment`: the latest history row up to then; before their first
    row, the first zona they chose; without history (rows inserted straight), today's zona."""
    latest = (
        select(ResidentZone.zone_id)
        .where(ResidentZone.resident_id == resident_id, ResidentZone.since <= moment)
        .order_by(ResidentZone.since.desc(), ResidentZone.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    first = (
        select(ResidentZone.zone_id)
        .where(ResidentZone.resident_id == resident_id)
        .order_by(ResidentZone.since, ResidentZone.id)
        .limit(1)
        .scalar_subquery()
    )
    same = aliased(Resident)
    today = select(same.zone_id).where(same.id == resident_id).correlate_except(same)
    today_zone = today.scalar_subquery()
    return func.coalesce(latest, first, today_zone)


def _in(zone: Any, zones: Zones) -> list[Any]:
    return [] if zones is None else [zone.in_(list(zones))]


def signups(
    session: Session, end: datetime, zones: Zones, zone_moment: datetime | None = None
) -> list[tuple[int | None, str | None, datetime, datetime | None, int]]:
    """Residents who consented before `end`: (zona, language, consented, left, resident).

    The zona is theirs at `zone_moment` (at consent when None); `left` is when they opted
    out or were erased, if they are out now."""
    moment: Any = Resident.consent_at if zone_moment is None else zone_moment
    zone = zone_at(Resident.id, moment).label("zone")
    inner = (
        select(
            zone,
            Resident.language,
            Resident.consent_at,
            func.coalesce(Resident.opted_out_at, Resident.erased_at).label("left"),
            Resident.status,
            Resident.id,
        )
        .where(Resident.consent_at.is_not(None), Resident.consent_at < end)
        .subquery()
    )
    rows = session.execute(select(inner).where(*_in(inner.c.zone, zones))).all()
    out = []
    for z, lang, consent, gone, status, rid in rows:
        out_now = status in (ResidentStatus.OPTED_OUT, ResidentStatus.ERASED)
        out.append((z, lang, consent, gone if out_now else None, rid))
    return out


def zone_of_residents_at(session: Session, moment: datetime) -> dict[int, int | None]:
    """Every consented resident's zona at `moment`."""
    rows = session.execute(
        select(Resident.id, zone_at(Resident.id, moment)).where(Resident.consent_at.is_not(None))
    ).all()
    return {rid: zid for rid, zid in rows}


def activity(
    session: Session, start: datetime, end: datetime, zones: Zones
) -> list[tuple[int, int | None, datetime, str]]:
    """Texts and votes by signed-up residents in the period: (resident, zona then, when,
    channel or 'vote')."""
    texts = (
        select(
            ReceivedMessage.resident_id.label("rid"),
            ReceivedMessage.received_at.label("at"),
            ReceivedMessage.channel.label("channel"),
        )
        .join(Resident, Resident.id == ReceivedMessage.resident_id)
        .where(
            ReceivedMessage.received_at >= start,
            ReceivedMessage.received_at < end,
            Resident.consent_at.is_not(None),
            Resident.consent_at <= ReceivedMessage.received_at,
        )
    )
    vote_rows = select(
        Vote.resident_id.label("rid"), Vote.created_at.label("at"), literal("vote").label("channel")
    ).where(Vote.created_at >= start, Vote.created_at < end)
    both = union_all(texts, vote_rows).subquery()
    zone = zone_at(both.c.rid, both.c.at).label("zone")
    inner = select(both.c.rid, zone, both.c.at, both.c.channel).subquery()
    return [
        tuple(row)  # type: ignore[misc]
        for row in session.execute(select(inner).where(*_in(inner.c.zone, zones))).all()
    ]


def opt_outs(
    session: Session, start: datetime, end: datetime, zones: Zones
) -> list[tuple[int, int | None, datetime]]:
    """Signed-up residents who opted out in the period: (resident, zona then, when)."""
    zone = zone_at(Resident.id, Resident.opted_out_at).label("zone")
    inner = (
        select(Resident.id, zone, Resident.opted_out_at)
        .where(
            Resident.consent_at.is_not(None),
            Resident.opted_out_at >= start,
            Resident.opted_out_at < end,
        )
        .subquery()
    )
    return [tuple(r) for r in session.execute(select(inner).where(*_in(inner.c.zone, zones)))]  # type: ignore[misc]


def reports(session: Session, start: datetime, end: datetime, zones: Zones) -> list[Any]:
    """Reports filed in the period (their zona is the reporter's when filed)."""
    return list(
        session.execute(
            select(
                Report.id, Report.zone_id, Report.category, Report.status, Report.created_at
            ).where(
                Report.created_at >= start, Report.created_at < end, *_in(Report.zone_id, zones)
            )
        ).all()
    )


def report_events(session: Session, report_ids: Collection[int]) -> list[Any]:
    """The status history of these reports, oldest first: (report, status, source, when)."""
    if not report_ids:
        return []
    return list(
        session.execute(
            select(
                ReportEvent.report_id,
                ReportEvent.status,
                ReportEvent.source,
                ReportEvent.created_at,
            )
            .where(ReportEvent.report_id.in_(list(report_ids)))
            .order_by(ReportEvent.report_id, ReportEvent.created_at, ReportEvent.id)
        ).all()
    )


def supports(session: Session, start: datetime, end: datetime, zones: Zones) -> int:
    """'Me too' added in the period to reports of these zonas."""
    return (
        session.scalar(
            select(func.count())
            .select_from(ReportSupporter)
            .join(Report, Report.id == ReportSupporter.report_id)
            .where(
                ReportSupporter.created_at >= start,
                ReportSupporter.created_at < end,
                *_in(Report.zone_id, zones),
            )
        )
        or 0
    )


def poll_invitations(
    session: Session, start: datetime, end: datetime, zones: Zones
) -> list[tuple[int, int, bool]]:
    """For polls created in the period: (poll, resident invited, whether they voted), each
    resident placed in their zona when the poll was created."""
    voted = (
        select(Vote.id)
        .where(Vote.poll_id == Poll.id, Vote.resident_id == Delivery.resident_id)
        .exists()
    )
    zone = zone_at(Delivery.resident_id, Poll.created_at).label("zone")
    inner = (
        select(Poll.id.label("poll"), Delivery.resident_id.label("rid"), voted.label("voted"), zone)
        .join(Broadcast, Broadcast.poll_id == Poll.id)
        .join(Delivery, Delivery.broadcast_id == Broadcast.id)
        .where(
            Poll.created_at >= start,
            Poll.created_at < end,
            Delivery.status.not_in(("canceled", "opted_out")),
        )
        .distinct()
        .subquery()
    )
    rows = session.execute(
        select(inner.c.poll, inner.c.rid, inner.c.voted).where(*_in(inner.c.zone, zones))
    ).all()
    return [(p, r, bool(v)) for p, r, v in rows]


def broadcast_deliveries(
    session: Session, start: datetime, end: datetime, zones: Zones
) -> list[tuple[int, int, str, datetime | None, datetime]]:
    """Deliveries of broadcasts created in the period: (broadcast, resident, status, when the
    resident opted out if they did, when the broadcast was made), each resident placed in
    their zona when the broadcast was made."""
    zone = zone_at(Delivery.resident_id, Broadcast.created_at).label("zone")
    inner = (
        select(
            Broadcast.id.label("bid"),
            Delivery.resident_id.label("rid"),
            Delivery.status.label("status"),
            Resident.opted_out_at.label("opted_out_at"),
            Broadcast.created_at.label("created_at"),
            zone,
        )
        .join(Delivery, Delivery.broadcast_id == Broadcast.id)
        .join(Resident, Resident.id == Delivery.resident_id)
        .where(Broadcast.created_at >= start, Broadcast.created_at < end)
        .subquery()
    )
    rows = session.execute(
        select(
            inner.c.bid, inner.c.rid, inner.c.status, inner.c.opted_out_at, inner.c.created_at
        ).where(*_in(inner.c.zone, zones))
    ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def zone_ids(session: Session, *, macro: str | None = None, zone: str | None = None) -> list[int]:
    """The zonas of a macrodistrito or one zona, by name (case-insensitive)."""
    query = select(Zone.id).join(Macrodistrict)
    if macro is not None:
        query = query.where(func.lower(Macrodistrict.name) == macro.lower())
    if zone is not None:
        query = query.where(func.lower(Zone.name) == zone.lower())
    return list(session.scalars(query.order_by(Zone.id)))


def zone_names(session: Session) -> dict[int, tuple[str, str]]:
    """Zona id -> (zona, macrodistrito)."""
    return {
        zid: (name, macro)
        for zid, name, macro in session.execute(
            select(Zone.id, Zone.name, Macrodistrict.name).join(Macrodistrict)
        )
    }


def erased_residents(session: Session) -> set[int]:
    """Residents who asked to be erased: left out of every exported row."""
    return set(session.scalars(select(Resident.id).where(Resident.status == ResidentStatus.ERASED)))


def reports_with_reporter(session: Session, start: datetime, end: datetime) -> list[Any]:
    """Reports filed in the period: (id, zona, category, status, filed, reporter)."""
    return list(
        session.execute(
            select(
                Report.id,
                Report.zone_id,
                Report.category,
                Report.status,
                Report.created_at,
                Report.resident_id,
            ).where(Report.created_at >= start, Report.created_at < end)
        ).all()
    )


def offers(
    session: Session, end: datetime, zones: Zones
) -> list[tuple[int, datetime, datetime, bool]]:
    """Offers stored now and published before `end`: (zona, created, expires, shown now:
    neither paused nor waiting for approval). A deleted offer leaves no row."""
    query = select(
        ServiceOffer.zone_id,
        ServiceOffer.created_at,
        ServiceOffer.expires_at,
        ServiceOffer.paused.is_(False) & ServiceOffer.pending.is_(False),
    ).where(ServiceOffer.created_at < end, *_in(ServiceOffer.zone_id, zones))
    return [(z, c, e, bool(shown)) for z, c, e, shown in session.execute(query).tuples()]


def searches(
    session: Session, start: datetime, end: datetime, zones: Zones
) -> list[tuple[int, int]]:
    """BUSCO searches in the period: (zona of the searcher then, offers found)."""
    query = select(ServiceSearch.zone_id, ServiceSearch.results).where(
        ServiceSearch.created_at >= start,
        ServiceSearch.created_at < end,
        *_in(ServiceSearch.zone_id, zones),
    )
    return list(session.execute(query).tuples())


def report_texts(session: Session, report_ids: Collection[int]) -> dict[int, str | None]:
    """What residents wrote on these reports (for exports to roles that may read them)."""
    out: dict[int, str | None] = {}
    ids = list(report_ids)
    for i in range(0, len(ids), 1000):
        chunk = ids[i : i + 1000]
        found = session.execute(select(Report.id, Report.description).where(Report.id.in_(chunk)))
        out.update({report_id: text for report_id, text in found})
    return out
