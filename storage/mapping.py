"""Youth mappers: registration, what they record, its review, and progress per mapper and zona.

An approved asset becomes zona information (source "mapeo", checked on the day of approval);
an approved need becomes a report tagged as mapped, in the mapper's name, so its updates and
follow-up reach the person who walked there. Functions take the session and never commit.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, delete, func, select, update
from sqlalchemy.orm import Session

from storage import info as info_store
from storage import reports as report_store
from storage.enums import ReportStatus
from storage.models import (
    MAP_ASSET_KINDS,
    MAP_COVERED_KINDS,
    MAP_KINDS,
    InfoItem,
    MappedItem,
    Mapper,
    Report,
    ReportEvent,
    Resident,
)

# An approved asset becomes an item of this zona information category.
INFO_CATEGORY = {
    "park": "places",
    "water_tap": "water",
    "streetlight": "places",
    "sports_field": "places",
    "school": "school",
    "health_post": "health",
    "shop": "places",
    "market": "market",
    "community_hall": "junta",
    "stop": "places",
    "other_asset": "places",
}
# An approved need becomes a report of this category.
REPORT_CATEGORY = {
    "broken_light": "alumbrado",
    "no_water": "agua",
    "trash_point": "basura",
    "dangerous_spot": "seguridad",
    "pothole": "calles",
    "blocked_drain": "calles",  # the drains along a street are its upkeep
    "stray_dogs": "salud",  # zoonosis is the health unit's
    "landslide_risk": "seguridad",
    "other_need": "otro",
}
SOURCE = "mapeo"
MAX_DESCRIPTION = 300


class NotAllowed(ValueError):
    """The change makes no sense as asked (an item already reviewed, a kind unknown...)."""


def is_asset(kind: str) -> bool:
    return kind in MAP_ASSET_KINDS


# --- mappers -------------------------------------------------------------------------------


def register_mapper(
    session: Session, resident: Resident, zone_id: int, registered_by: str, now: datetime
) -> tuple[Mapper, bool]:
    """Make the resident a mapper of the zona; (the mapper, True when newly active)."""
    mapper = session.scalar(select(Mapper).where(Mapper.resident_id == resident.id))
    if mapper is None:
        mapper = Mapper(
            resident_id=resident.id,
            zone_id=zone_id,
            registered_by=registered_by,
            registered_at=now,
            active=True,
        )
        session.add(mapper)
        session.flush()
        return mapper, True
    new = not mapper.active or mapper.zone_id != zone_id
    mapper.zone_id, mapper.active, mapper.removed_at = zone_id, True, None
    if new:
        mapper.registered_by, mapper.registered_at = registered_by, now
    session.flush()
    return mapper, new


def remove_mapper(session: Session, mapper: Mapper, now: datetime) -> None:
    """No longer a mapper; what they recorded stays, and so do its reviews."""
    mapper.active = False
    mapper.removed_at = now
    session.flush()


def mapper_of(session: Session, resident_id: int, *, active: bool = True) -> Mapper | None:
    with session.no_autoflush:
        query = select(Mapper).where(Mapper.resident_id == resident_id)
        if active:
            query = query.where(Mapper.active.is_(True))
        return session.scalar(query)


def resident_by_phone(session: Session, phone: str) -> Resident | None:
    """The resident with this phone (E.164), if any, without flushing the turn under way."""
    with session.no_autoflush:
        return session.scalar(select(Resident).where(Resident.phone == phone))


def list_mappers(session: Session, zone_ids: Collection[int] | None = None) -> list[Mapper]:
    query = select(Mapper).order_by(Mapper.zone_id, Mapper.id)
    if zone_ids is not None:
        query = query.where(Mapper.zone_id.in_(list(zone_ids)))
    return list(session.scalars(query))


# --- items -----------------------------------------------------------------------------------


def record_item(
    session: Session,
    mapper: Mapper,
    kind: str,
    description: str,
    *,
    latitude: float | None = None,
    longitude: float | None = None,
    media_url: str | None = None,
    channel: str = "sms",
    now: datetime,
) -> MappedItem:
    if kind not in MAP_KINDS:
        raise NotAllowed(f"unknown kind {kind!r}")
    item = MappedItem(
        resident_id=mapper.resident_id,
        zone_id=mapper.zone_id,
        kind=kind,
        description=description.strip()[:MAX_DESCRIPTION],
        latitude=latitude,
        longitude=longitude,
        media_url=media_url,
        channel=channel,
        status="pending",
        created_at=now,
    )
    session.add(item)
    session.flush()
    return item


def items(
    session: Session,
    zone_ids: Collection[int] | None = None,
    status: str | None = None,
    *,
    offset: int = 0,
    limit: int = 100,
) -> list[MappedItem]:
    """Items in these zonas (None: all), oldest pending first for review, newest otherwise."""
    return list(session.scalars(items_query(zone_ids, status).offset(offset).limit(limit)))


def items_query(zone_ids: Collection[int] | None, status: str | None) -> Select[tuple[MappedItem]]:
    """The ordered query of `items`, for a caller that pages it itself."""
    query = select(MappedItem)
    if zone_ids is not None:
        query = query.where(MappedItem.zone_id.in_(list(zone_ids)))
    if status is not None:
        query = query.where(MappedItem.status == status)
    order = (
        (MappedItem.created_at, MappedItem.id)
        if status == "pending"
        else (MappedItem.created_at.desc(), MappedItem.id.desc())
    )
    return query.order_by(*order)


def count_pending(session: Session, zone_ids: Collection[int]) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(MappedItem)
            .where(MappedItem.zone_id.in_(list(zone_ids)), MappedItem.status == "pending")
        )
        or 0
    )


def waiting_by_zone(session: Session) -> dict[int, tuple[int, datetime]]:
    """Zonas with items waiting for review: (how many, when the newest was recorded)."""
    query = (
        select(MappedItem.zone_id, func.count(), func.max(MappedItem.created_at))
        .where(MappedItem.status == "pending")
        .group_by(MappedItem.zone_id)
    )
    return {zone_id: (n, newest) for zone_id, n, newest in session.execute(query)}


def approve_item(
    session: Session,
    item: MappedItem,
    *,
    reviewer: str,
    text_es: str,
    text_ay: str | None,
    now: datetime,
    description: str | None = None,
    note: str | None = None,
) -> InfoItem | Report:
    """Approve a pending item (with the reviewer's edit of its description, if any): an asset
    becomes zona information checked today, a need a mapped report of the zona."""
    if item.status != "pending":
        raise NotAllowed(f"item {item.id} is already {item.status}")
    if description is not None and description.strip():
        item.description = description.strip()[:MAX_DESCRIPTION]
    item.status, item.reviewer, item.reviewed_at = "approved", reviewer, now
    item.note = note.strip() if note and note.strip() else None
    made: InfoItem | Report
    if is_asset(item.kind):
        made = info_store.add_item(
            session,
            INFO_CATEGORY[item.kind],
            info_store.Scope(zone_id=item.zone_id),
            text_es,
            text_ay,
            checked_at=now,
        )
        made.source = SOURCE
        item.info_item_id = made.id
    else:
        made = Report(
            code=report_store.new_code(session),
            resident_id=item.resident_id,
            zone_id=item.zone_id,
            category=REPORT_CATEGORY[item.kind],
            description=item.description,
            latitude=item.latitude,
            longitude=item.longitude,
            media_url=item.media_url,
            channel=item.channel,
            created_at=now,
            updated_at=now,
            mapped=True,
        )
        session.add(made)
        session.flush()
        session.add(
            ReportEvent(
                report_id=made.id, status=ReportStatus.RECEIVED, source="mapeo", created_at=now
            )
        )
        item.report_id = made.id
    session.flush()
    return made


def reject_item(
    session: Session, item: MappedItem, *, reviewer: str, note: str | None, now: datetime
) -> None:
    if item.status != "pending":
        raise NotAllowed(f"item {item.id} is already {item.status}")
    item.status, item.reviewer, item.reviewed_at = "rejected", reviewer, now
    item.note = note.strip() if note and note.strip() else None
    session.flush()


def set_kind(session: Session, item: MappedItem, kind: str) -> None:
    """A reviewer's correction of a pending item's kind (a mapper who picked the wrong one)."""
    if item.status != "pending":
        raise NotAllowed(f"item {item.id} is already {item.status}")
    if kind not in MAP_KINDS:
        raise NotAllowed(f"unknown kind {kind!r}")
    item.kind = kind
    session.flush()


def edit_item(session: Session, item: MappedItem, description: str) -> None:
    """A reviewer's correction of a pending item's words."""
    if item.status != "pending":
        raise NotAllowed(f"item {item.id} is already {item.status}")
    if not description.strip():
        raise NotAllowed("the description is empty")
    item.description = description.strip()[:MAX_DESCRIPTION]
    session.flush()


# --- progress ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    """Items recorded, how they were reviewed, and the share of kinds recorded at least once."""

    items: int
    approved: int
    rejected: int
    pending: int
    kinds: int  # distinct kinds recorded, "other" not counted

    @property
    def coverage(self) -> float:
        return self.kinds / len(MAP_COVERED_KINDS)


def _progress(rows: list[tuple[str, str]]) -> Progress:
    statuses = [status for _, status in rows]
    return Progress(
        items=len(rows),
        approved=statuses.count("approved"),
        rejected=statuses.count("rejected"),
        pending=statuses.count("pending"),
        kinds=len({kind for kind, _ in rows if kind in MAP_COVERED_KINDS}),
    )


def zone_progress(session: Session, zone_ids: Collection[int] | None = None) -> dict[int, Progress]:
    """By zona id: every zona with a mapper or an item (within zone_ids, None for all)."""
    query = select(MappedItem.zone_id, MappedItem.kind, MappedItem.status)
    mappers = select(Mapper.zone_id).where(Mapper.active.is_(True))
    if zone_ids is not None:
        query = query.where(MappedItem.zone_id.in_(list(zone_ids)))
        mappers = mappers.where(Mapper.zone_id.in_(list(zone_ids)))
    rows: dict[int, list[tuple[str, str]]] = {z: [] for z in session.scalars(mappers)}
    for zone_id, kind, status in session.execute(query):
        rows.setdefault(zone_id, []).append((kind, status))
    return {zone_id: _progress(found) for zone_id, found in rows.items()}


def mapper_progress(
    session: Session, zone_ids: Collection[int] | None = None
) -> list[tuple[Mapper, Progress]]:
    """Each mapper (active or not) in these zonas with what they recorded there."""
    mappers = list_mappers(session, zone_ids)
    ids = [m.resident_id for m in mappers]
    rows: dict[int, list[tuple[str, str]]] = {i: [] for i in ids}
    found = session.execute(
        select(MappedItem.resident_id, MappedItem.kind, MappedItem.status).where(
            MappedItem.resident_id.in_(ids)
        )
    )
    for resident_id, kind, status in found:
        rows[resident_id].append((kind, status))
    return [(m, _progress(rows[m.resident_id])) for m in mappers]


def resident_progress(session: Session, resident_id: int) -> Progress:
    """What one resident recorded as a mapper, wherever, and how it was reviewed."""
    query = select(MappedItem.kind, MappedItem.status).where(MappedItem.resident_id == resident_id)
    return _progress([(kind, status) for kind, status in session.execute(query)])


def recorded_between(
    session: Session, start: datetime, end: datetime, zone_ids: Collection[int] | None
) -> list[tuple[str, str]]:
    """(kind, status now) of the items recorded in [start, end) in these zonas (None: all)."""
    query = select(MappedItem.kind, MappedItem.status).where(
        MappedItem.created_at >= start, MappedItem.created_at < end
    )
    if zone_ids is not None:
        query = query.where(MappedItem.zone_id.in_(list(zone_ids)))
    return [(kind, status) for kind, status in session.execute(query)]


# --- erasure ----------------------------------------------------------------------------------


def erase_mappers(session: Session, resident_ids: list[int]) -> None:
    """BORRAR: the mapper role goes, and their items keep only kind, zona, status and dates
    (counted, pointing at no one); the reports made from them are blanked with the rest."""
    session.execute(delete(Mapper).where(Mapper.resident_id.in_(resident_ids)))
    session.execute(
        update(MappedItem)
        .where(MappedItem.resident_id.in_(resident_ids))
        .values(description=None, latitude=None, longitude=None, media_url=None, note=None)
        .execution_options(synchronize_session=False)
    )
