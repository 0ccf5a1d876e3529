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
