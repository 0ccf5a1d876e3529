"""Zona information: the items a resident reads for their zona, and what staff keep current.

A zona's items are its own, its macrodistrito's and the city's (see InfoItem). Functions take
the session and never commit.
"""

from __future__ import annotations

import csv
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import IO

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from storage.models import INFO_CATEGORIES, InfoItem, Macrodistrict, Zone, utcnow

# The categories a zona has of its own (a leader adds and keeps them by SMS): not the city's
# emergency numbers nor the macrodistrito's subalcaldía.
ZONE_CATEGORIES = tuple(c for c in INFO_CATEGORIES if c not in ("emergency", "subalcaldia"))

CSV_COLUMNS = ("id", "category", "scope", "text_es", "text_ay", "checked_on")

# Bolivia's emergency numbers, for every zona, in one item so one SMS has them all (migration
# 0011 added them to existing databases as three items, 0019 merges those into this one).
EMERGENCY = (
    (
        "Policía (Radio Patrulla) 110, Bomberos 119, Ambulancia (SAME) 118",
        "Policía (Radio Patrulla) 110, Bomberos 119, Ambulancia (SAME) 118",
    ),
)


def fold(text: str) -> str:
    """Case and accents removed, for matching names typed in a command or a CSV."""
    decomposed = unicodedata.normalize("NFKD", text.strip().casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _visible_in(session: Session, zone_id: int | None) -> ColumnElement[bool]:
    """The condition for items a resident of zone_id sees."""
    macro_id = (
        session.scalar(select(Zone.macrodistrict_id).where(Zone.id == zone_id))
        if zone_id is not None
        else None
    )
    return or_(
        InfoItem.zone_id == zone_id,
        and_(InfoItem.zone_id.is_(None), InfoItem.macrodistrict_id == macro_id),
        and_(InfoItem.zone_id.is_(None), InfoItem.macrodistrict_id.is_(None)),
    )


def categories_for(session: Session, zone_id: int | None) -> list[str]:
    """The categories with at least one item for this zona, in INFO_CATEGORIES order."""
    present = set(
        session.scalars(select(InfoItem.category).where(_visible_in(session, zone_id)).distinct())
    )
    return [category for category in INFO_CATEGORIES if category in present]


def items_for(session: Session, zone_id: int | None, category: str) -> list[InfoItem]:
    """A category's items for this zona: the zona's own first, then its macrodistrito's, then
    the city's, each in the order they were added."""
    items = session.scalars(
        select(InfoItem)
        .where(InfoItem.category == category, _visible_in(session, zone_id))
        .order_by(InfoItem.id)
    )
    return sorted(items, key=lambda i: (i.zone_id is None, i.macrodistrict_id is None))


@dataclass(frozen=True)
class Scope:
    """Where an item applies: a zona, a macrodistrito, or the whole city (both None)."""

    zone_id: int | None = None
    macrodistrict_id: int | None = None


def resolve_scope(session: Session, spec: str) -> Scope:
    """all | zona:NAME | macro:NAME (names matched without case or accents); ValueError if
    the name is unknown or a zona name is in several macrodistritos."""
    kind, _, name = spec.strip().partition(":")
    kind, key = fold(kind), fold(name)
    if kind in ("all", "todos", "ciudad") and not key:
        return Scope()
    if kind in ("zona", "zone"):
        zones = [z for z in session.scalars(select(Zone)) if fold(z.name) == key]
        if len(zones) == 1:
            return Scope(zone_id=zones[0].id)
        if len(zones) > 1:
            raise ValueError(f"zona {name!r} is in several macrodistritos")
    elif kind in ("macro", "macrodistrito"):
        for macro in session.scalars(select(Macrodistrict)):
            if fold(macro.name) == key:
                return Scope(macrodistrict_id=macro.id)
    raise ValueError(f"unknown scope {spec!r} (use all, zona:NAME or macro:NAME)")


def scope_of(item: InfoItem) -> str:
    """The scope spec an item was given (resolve_scope reads it back)."""
    if item.zone is not None:
        return f"zona:{item.zone.name}"
    if item.macrodistrict is not None:
        return f"macro:{item.macrodistrict.name}"
    return "all"


def add_item(
    session: Session,
    category: str,
    scope: Scope,
    text_es: str,
    text_ay: str | None = None,
    checked_at: datetime | None = None,
) -> InfoItem:
    if category not in INFO_CATEGORIES:
        raise ValueError(f"unknown category {category!r} ({', '.join(INFO_CATEGORIES)})")
    item = InfoItem(
        category=category,
        zone_id=scope.zone_id,
        macrodistrict_id=scope.macrodistrict_id if scope.zone_id is None else None,
        text_es=text_es.strip(),
        text_ay=(text_ay or "").strip() or None,
        checked_at=checked_at or utcnow(),
    )
    session.add(item)
    session.flush()
    return item


def list_items(session: Session, *, checked_before: datetime | None = None) -> list[InfoItem]:
    """Every item (or only those last checked before a moment), by category and id."""
    query = select(InfoItem)
    if checked_before is not None:
        query = query.where(InfoItem.checked_at < checked_before)
    items = list(session.scalars(query.order_by(InfoItem.id)))
    return sorted(items, key=lambda i: INFO_CATEGORIES.index(i.category))


def _checked_on(moment: datetime) -> str:
    return moment.date().isoformat()


def export_csv(session: Session, out: IO[str]) -> int:
    """Write every item as CSV (CSV_COLUMNS); the number written."""
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    items = list_items(session)
    for item in items:
        writer.writerow(
            [
                item.id,
                item.category,
                scope_of(item),
                item.text_es,
                item.text_ay or "",
                _checked_on(item.checked_at),
            ]
        )
    return len(items)


def import_csv(session: Session, rows: Iterable[dict[str, str]], now: datetime) -> tuple[int, int]:
    """Add rows without an id, update rows with one; (added, updated). A row without
    checked_on counts as checked now. Raises ValueError naming the line of a bad row, so a
    caller that rolls back keeps the whole file out."""
    added = updated = 0
    for line, row in enumerate(rows, start=2):
        try:
            category = (row.get("category") or "").strip()
            text_es = (row.get("text_es") or "").strip()
            if not text_es:
                raise ValueError("text_es is empty")
            scope = resolve_scope(session, row.get("scope") or "")
            checked = (row.get("checked_on") or "").strip()
            checked_at = (
                datetime.combine(date.fromisoformat(checked), time(12), tzinfo=UTC)
                if checked
                else now
            )
            item_id = (row.get("id") or "").strip()
            if item_id:
                item = session.get(InfoItem, int(item_id))
                if item is None:
                    raise ValueError(f"no item {item_id}")
                if category not in INFO_CATEGORIES:
                    raise ValueError(f"unknown category {category!r}")
                item.category = category
                item.zone_id = scope.zone_id
                item.macrodistrict_id = scope.macrodistrict_id
                item.text_es = text_es
                item.text_ay = (row.get("text_ay") or "").strip() or None
                item.checked_at = checked_at
                updated += 1
            else:
                add_item(session, category, scope, text_es, row.get("text_ay"), checked_at)
                added += 1
        except ValueError as exc:
            raise ValueError(f"line {line}: {exc}") from exc
    session.flush()
    return added, updated


def seed_emergency(session: Session) -> int:
    """Add the city-wide emergency numbers unless there are some already; how many added."""
    city = select(InfoItem.id).where(
        InfoItem.category == "emergency",
        InfoItem.zone_id.is_(None),
        InfoItem.macrodistrict_id.is_(None),
    )
    if session.scalar(city.limit(1)) is not None:
        return 0
    for text_es, text_ay in EMERGENCY:
        add_item(session, "emergency", Scope(), text_es, text_ay)
    return len(EMERGENCY)


def zone_items(session: Session, zone_id: int, category: str | None = None) -> list[InfoItem]:
    """A zona's own items (not its macrodistrito's or the city's), by category then id: what
    its leaders keep current."""
    query = select(InfoItem).where(InfoItem.zone_id == zone_id)
    if category is not None:
        query = query.where(InfoItem.category == category)
    items = list(session.scalars(query.order_by(InfoItem.id)))
    return sorted(items, key=lambda i: INFO_CATEGORIES.index(i.category))


def mark_checked(item: InfoItem, now: datetime) -> None:
    """Someone confirmed the item is still correct: its checked day is today."""
    item.checked_at = now


def edit_item(item: InfoItem, text_es: str, text_ay: str | None, now: datetime) -> None:
    """New texts, checked now (an empty Aymara text: residents read the Spanish one)."""
    item.text_es = text_es.strip()
    item.text_ay = (text_ay or "").strip() or None
    item.checked_at = now


def remove_item(session: Session, item: InfoItem) -> None:
    """The item is gone for everyone; a mapped item it came from keeps its own row."""
    session.delete(item)
    session.flush()


def stale_counts(session: Session, checked_before: datetime) -> dict[int, int]:
    """Per zona, its own items last checked before that moment (what its leaders keep)."""
    rows = session.execute(
        select(InfoItem.zone_id, func.count())
        .where(InfoItem.zone_id.is_not(None), InfoItem.checked_at < checked_before)
        .group_by(InfoItem.zone_id)
    ).tuples()
    return {int(zone_id): int(n) for zone_id, n in rows if zone_id is not None}
