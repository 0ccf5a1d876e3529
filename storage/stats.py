"""Participation totals for `mibarrio stats` (the evidence measures build on these counts)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage import audience
from storage.broadcasts import broadcast_stats
from storage.enums import ResidentStatus
from storage.models import NewsItem, Poll, Report, Resident, Vote, Zone


def stats(session: Session) -> dict[str, Any]:
    """Participation figures the municipality reads (and the latest broadcasts' progress).

    "residents" counts people currently signed up (consented, not opted out, not erased);
    synthetic demo residents are included and also counted apart.
    """

    def count(*where: Any) -> int:
        return session.scalar(select(func.count()).select_from(Resident).where(*where)) or 0

    zone_names = dict(session.execute(select(Zone.id, Zone.name)).tuples().all())
    by_zone = sorted(
        ((zone_names[z], n) for z, n in audience.signed_up_by_zone(session).items() if z),
        key=lambda row: (-row[1], row[0]),
    )
    by_lang = audience.signed_up_by_language(session)
    return {
        "residents": sum(by_lang.values()),
        "opted_out": count(Resident.status == ResidentStatus.OPTED_OUT),
        "onboarding": count(Resident.status == ResidentStatus.ONBOARDING),
        "erased": count(Resident.status == ResidentStatus.ERASED),
        "residents_by_zone": {zone: n for zone, n in by_zone},
        "residents_by_language": {lang or "unknown": n for lang, n in by_lang.items()},
        "synthetic_residents": count(Resident.synthetic.is_(True)),
        "reports": _count_rows(session, Report),
        "reports_by_status": {
            status: n
            for status, n in session.execute(
                select(Report.status, func.count()).group_by(Report.status)
            ).all()
        },
        "votes": _count_rows(session, Vote),
        "polls": _count_rows(session, Poll),
        "news": _count_rows(session, NewsItem),
        "broadcasts": broadcast_stats(session),
    }


def _count_rows(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0
