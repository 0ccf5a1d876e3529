"""News items for a zona and the city, newest first."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from storage.models import NewsItem, NewsZone


def news_for(
    session: Session, zone_id: int | None, offset: int = 0, limit: int = 1
) -> list[NewsItem]:
    in_zone = select(NewsZone.news_id).where(NewsZone.zone_id == zone_id)
    return list(
        session.scalars(
            select(NewsItem)
            .where(or_(NewsItem.citywide.is_(True), NewsItem.id.in_(in_zone)))
            .order_by(NewsItem.created_at.desc(), NewsItem.id.desc())
            .offset(offset)
            .limit(limit)
        )
    )


def news_within(
    session: Session, zone_ids: frozenset[int] | None, limit: int = 100
) -> list[NewsItem]:
    """The latest news addressed inside these zonas (None: the whole city, every item)."""
    query = select(NewsItem).order_by(NewsItem.created_at.desc(), NewsItem.id.desc()).limit(limit)
    if zone_ids is not None:
        if not zone_ids:
            return []
        inside = select(NewsZone.news_id).where(NewsZone.zone_id.in_(zone_ids))
        outside = select(NewsZone.news_id).where(NewsZone.zone_id.not_in(zone_ids))
        query = query.where(
            NewsItem.citywide.is_(False), NewsItem.id.in_(inside), NewsItem.id.not_in(outside)
        )
    return list(session.scalars(query))
