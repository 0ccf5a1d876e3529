"""Evidence: a place's measures beside the city's, a weekly trend, before/after and terciles.

The place is the user's own unless they pick one inside their scope (bot.evidence.scoped);
every figure comes from bot.evidence, as in the API and the exports.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import abort, redirect, render_template, request, send_from_directory, url_for
from markupsafe import Markup

from bot.admin.common import bp, me, reading, scope, staff_page, writing
from bot.admin.courses import question_totals, scoped_results
from bot.evidence.chart import line_chart
from bot.evidence.export import FORMATS
from bot.evidence.measures import CITY, STEPS, UnknownPlace, date_range, local_midnight
from bot.evidence.memo import before_after, measures, series, terciles
from bot.evidence.scoped import OutOfScope, place_for
from bot.evidence.summary import ROWS, fmt
from bot.i18n.console import gettext as _
from bot.i18n.console import lazy_gettext as _l
from bot.scope import reachable_macrodistricts, reachable_zones
from storage import audit
from storage import courses as course_store
from storage.models import EvidenceExport
from storage.outbox import add_outbox

# The youth mapping in the period: items recorded by mappers of the place, and how they fared.
MAPPING_ROWS = (
    (_l("Elementos mapeados"), "mapping.items"),
    (_l("Aprobados"), "mapping.approved"),
    (_l("Rechazados"), "mapping.rejected"),
    (_l("Tipos distintos mapeados"), "mapping.kinds"),
    (_l("Cobertura de tipos"), "mapping.coverage"),
)


# Before/after compares some measures by their own key (bot.evidence.compare); those the table
# of measures names under another key (its median) or not at all are named here.
CHANGE_LABELS = {
    "reports.hours_to_first_change": _l("Horas al primer cambio (mediana)"),
    "reports.hours_to_resolution": _l("Horas a resolver (mediana)"),
    "polls.voted": _l("Votos en encuestas"),
}


def measure_rows() -> list[tuple[str, str]]:
    """The table of measures as staff read it: (label from the console catalog, key)."""
    return [(_(label), key) for label, key in ROWS]


def change_label(key: str) -> str:
    """The name of a before/after measure; its key if it has none (a measure added later)."""
    named = {row_key: label for label, row_key in measure_rows()}
    if key in CHANGE_LABELS:
        return str(CHANGE_LABELS[key])
    return named.get(key, key)


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f}%"


def mapping_fmt(figures: dict[str, Any], key: str) -> str:
    """A mapping figure as shown: the coverage of kinds as a percentage, counts as they are."""
    value = figures["mapping"][key.split(".", 1)[1]]
    return _percent(value) if key.endswith("coverage") else str(value)


def _course_figures(
    db: Any, where: Any, reaches: Callable[[int | None], bool], start: datetime, end: datetime
) -> list[Any]:
    """Each course's residents in the place (and the user's scope) over the period: those who
    enrolled in it, how many of them finished by its end, and the answers given in it, summed
    over the zonas, in all and question by question (the Cursos page's figures)."""
    figures = []
    for course in course_store.all_courses(db):
        rows = scoped_results(db, course.id, reaches, start, end, where.zone_ids)
        enrolled = sum(r.enrolled for r in rows)
        completed = sum(r.completed for r in rows)
        questions = question_totals(rows, len(course.lessons))
        figures.append(
            {
                "title": course.title_es,
                "enrolled": enrolled,
                "completed": completed,
                "completion": _percent(completed / enrolled if enrolled else None),
                "answered": sum(a for a, _, _ in questions),
                "right": sum(g for _, g, _ in questions),
                "questions": [
                    {"answered": a, "right": g, "share": _percent(share)}
                    for a, g, share in questions
                ],
            }
        )
    return figures


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
        courses = _course_figures(db, where, current.reaches, start, end)
    return render_template(
        "admin/evidence.html",
        where=where,
        first=first,
        last=last,
        here=here,
        city=city,
        rows=measure_rows(),
        change_label=change_label,
        mapping_rows=MAPPING_ROWS,
        mapping_fmt=mapping_fmt,
        courses=courses,
        most_lessons=max((len(c["questions"]) for c in courses), default=0),
        fmt=fmt,
        chart=Markup(chart),
        compared=compared,
        groups=groups,
        zones=zones,
        macros=macros,
        citywide=current.citywide,
        free_text_allowed=current.citywide and current.writes,
    )


@bp.route("/evidence/exports", methods=["POST"])
@staff_page()
def start_export() -> Any:
    """An export of every place's measures and the anonymised events, built by the worker.

    City-wide roles only (the files cover the whole city); what residents wrote on reports
    goes in only for roles that act on reports city-wide."""
    current = scope()
    if not current.citywide:
        abort(403)
    form = request.form
    fmt = form.get("format", "csv")
    step = form.get("step", "week")
    if fmt not in FORMATS or step not in STEPS:
        abort(400)
    try:
        first, last = date_range(form.get("from") or None, form.get("to") or None)
    except ValueError:
        abort(400)
    free_text = bool(form.get("free_text")) and current.writes
    with writing() as db:
        user = me(db)
        job = EvidenceExport(
            format=fmt, first=first, last=last, step=step, free_text=free_text, user_id=user.id
        )
        db.add(job)
        db.flush()
        add_outbox(db, "build_export", job.id)
        audit.record(
            db,
            user,
            "web",
            "evidence.export",
            "export",
            job.id,
            after={"format": fmt, "from": first.isoformat(), "to": last.isoformat(),
                   "step": step, "free_text": free_text},
        )  # fmt: skip
        export_id = job.id
    return redirect(url_for("admin.export_status", export_id=export_id))


def _export_of(db: Any, export_id: int) -> EvidenceExport:
    if not scope().citywide:
        abort(403)
    job = db.get(EvidenceExport, export_id)
    if job is None:
        abort(404)
    return job  # type: ignore[no-any-return]


@bp.route("/evidence/exports/<int:export_id>")
@staff_page()
def export_status(export_id: int) -> Any:
    with reading() as db:
        job = _export_of(db, export_id)
        files = []
        if job.status == "done" and job.path:
            files = sorted(p.name for p in Path(job.path).iterdir() if p.is_file())
        percent = 100 if job.status == "done" else (job.done * 100 // job.total if job.total else 0)
        return render_template(
            "admin/evidence_export.html",
            job=job,
            percent=percent,
            files=files,
            refresh=job.status in ("queued", "running"),
        )


@bp.route("/evidence/exports/<int:export_id>/<name>")
@staff_page()
def export_file(export_id: int, name: str) -> Any:
    with writing() as db:
        job = _export_of(db, export_id)
        if job.status != "done" or not job.path:
            abort(404)
        folder = Path(job.path)
        if name not in {p.name for p in folder.iterdir() if p.is_file()}:
            abort(404)
        audit.record(db, me(db), "web", "evidence.download", "export", export_id,
                     after={"file": name})  # fmt: skip
    return send_from_directory(folder, name, as_attachment=True)
