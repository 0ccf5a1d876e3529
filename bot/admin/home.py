"""The first page: participation per zona within the user's scope."""

from __future__ import annotations

from typing import Any

from flask import render_template
from sqlalchemy import func, select

from bot.admin.common import bp, reading, scope, staff_page, state
from bot.admin.info import stale_count
from storage import audience
from storage.models import OPEN_REPORT_STATUSES, Report, Zone


@bp.route("/")
@staff_page(residents=False)
def home() -> Any:
    current = scope()
    rows: list[dict[str, Any]] = []
    stale = 0
    if current.sees_residents:
        with reading() as db:
            stale = stale_count(db, current)
            # Counted within the scope only: a leader's page reads one zona, not the city.
            mine = [] if current.citywide else [current.zone_ids or frozenset()]
            residents = audience.signed_up_by_zone(db, None if current.citywide else mine[0])
            open_reports = dict(
                db.execute(
                    select(Report.zone_id, func.count())
                    .where(
                        Report.status.in_(OPEN_REPORT_STATUSES),
                        *(Report.zone_id.in_(ids) for ids in mine),
                    )
                    .group_by(Report.zone_id)
                )
                .tuples()
                .all()
            )
            zones = db.scalars(select(Zone).order_by(Zone.name))
            rows = [
                {
                    "zone": z.name,
                    "residents": residents.get(z.id, 0),
                    "open": open_reports.get(z.id, 0),
                }
                for z in zones
                if current.reaches(z.id) and (residents.get(z.id) or open_reports.get(z.id))
            ]
    total = sum(r["residents"] for r in rows)
    return render_template(
        "admin/home.html",
        rows=rows,
        total=total,
        stale=stale,
        stale_days=int(state().config.info_stale_days),
    )
