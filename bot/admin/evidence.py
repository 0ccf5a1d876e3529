"""Evidence: a place's measures beside the city's, a weekly trend, before/after and terciles.

The place is the user's own unless they pick one inside their scope (bot.evidence.scoped);
every figure comes from bot.evidence, as in the API and the exports.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import abort, render_template, request
from markupsafe import Markup

from bot.admin.common import bp, reading, scope, staff_page
from bot.evidence.chart import line_chart
from bot.evidence.compare import before_after, terciles
from bot.evidence.measures import CITY, UnknownPlace, local_midnight, measures, series
from bot.evidence.scoped import OutOfScope, date_range, place_for
from bot.evidence.summary import ROWS, fmt
from bot.i18n.console import gettext as _
from bot.scope import reachable_macrodistricts, reachable_zones


@bp.route("/evidence")
@staff_page()
def evidence() -> Any:
    current = scope()
    args = request.args
    try:
        first, last = date_range(args.get("from") or None, args.get("to") or None)
    except ValueError:
        abort(400)
    with reading() as db:
        try:
            where = place_for(db, current, macro=args.get("macro"), zone=args.get("zona"))
        except UnknownPlace:
            abort(404)
        except OutOfScope:
            abort(403)
        start, end = local_midnight(first), local_midnight(last + timedelta(days=1))
        here, city = measures(db, where, start, end), measures(db, CITY, start, end)
        weeks = series(db, where, first, last, "week")
        city_weeks = series(db, CITY, first, last, "week")
        chart = line_chart(
            [w["from"][5:10] for w in weeks],
            [
                (where.name, [w["residents"]["participation_rate"] for w in weeks]),
                ("La Paz", [w["residents"]["participation_rate"] for w in city_weeks]),
            ],
            title=_("Participación semanal: {place} y La Paz").format(place=where.name),
        )
        compared = None
        if args.get("fecha"):
            try:
                pivot = date.fromisoformat(args["fecha"])
                days = max(1, min(int(args.get("dias") or 28), 365))
            except ValueError:
                abort(400)
            compared = before_after(db, where, pivot, days)
        groups = terciles(db, start, end, where) if where.kind != "zone" else None
        zones = reachable_zones(db, current)
        macros = reachable_macrodistricts(db, current)
    return render_template(
        "admin/evidence.html",
        where=where,
        first=first,
        last=last,
        here=here,
        city=city,
        rows=ROWS,
        fmt=fmt,
        chart=Markup(chart),
        compared=compared,
        groups=groups,
        zones=zones,
        macros=macros,
        citywide=current.citywide,
    )
