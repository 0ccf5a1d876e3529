"""Reports: a queue by zona, category, status and age; one report; its status, with a note."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import SelectField, TextAreaField
from wtforms.validators import Length

from bot import actions
from bot.admin.common import bp, me, reading, scope, staff_page, state, writing
from bot.admin.exports import csv_response
from bot.i18n.console import gettext as _
from bot.i18n.console import lazy_gettext as _l
from bot.outbound import CATEGORY_LABELS, STATUS_LABELS
from bot.scope import mask_phone, reachable_zones
from storage.models import (
    REPORT_CATEGORIES,
    REPORT_STATUSES,
    Report,
    ReportSupporter,
    Resident,
    aware,
    utcnow,
)

PAGE = 50
STATUS_NAMES = {s: STATUS_LABELS[s].capitalize() for s in REPORT_STATUSES}
CATEGORY_NAMES = {c: CATEGORY_LABELS[c] for c in REPORT_CATEGORIES}


class StatusForm(FlaskForm):
    status = SelectField(_l("Nuevo estado"), choices=list(STATUS_NAMES.items()))
    note = TextAreaField(
        _l("Nota para el vecino (obligatoria al rechazar)"), validators=[Length(max=300)]
    )


@bp.route("/reportes")
@staff_page()
def reports() -> Any:
    current = scope()
    query = _filtered()
    with reading() as db:
        rows = list(db.scalars(query.limit(PAGE)))
        supporters = _supporters(db, rows)
        zones = reachable_zones(db, current)
        names = {z.id: z.name for z in zones}
        return render_template(
            "admin/reports.html",
            rows=rows,
            supporters=supporters,
            zones=zones,
            zone_names=names,
            statuses=STATUS_NAMES,
            categories=CATEGORY_NAMES,
            chosen=_chosen(),
            export=_with_query(url_for("admin.reports_csv")),
        )


@bp.route("/reportes.csv")
@staff_page()
def reports_csv() -> Any:
    """The filtered queue as CSV: no phones, and free text only as residents wrote it."""
    with reading() as db:
        rows = list(db.scalars(_filtered()))
        supporters = _supporters(db, rows)
        names = {z.id: z.name for z in reachable_zones(db, scope())}
        return csv_response(
            "reportes.csv",
            ["codigo", "zona", "categoria", "estado", "apoyos", "recibido", "descripcion", "nota"],
            (
                [
                    r.code,
                    names.get(r.zone_id or 0, ""),
                    CATEGORY_NAMES.get(r.category, r.category),
                    STATUS_NAMES.get(r.status, r.status),
                    supporters.get(r.id, 0),
                    aware(r.created_at).isoformat(),
                    r.description or "",
                    r.status_note or "",
                ]
                for r in rows
            ),
        )


def _with_query(path: str) -> str:
    query = request.query_string.decode()
    return f"{path}?{query}" if query else path


def _chosen() -> dict[str, Any]:
    return {
        "zona": request.args.get("zona", type=int),
        "categoria": request.args.get("categoria") or None,
        "estado": request.args.get("estado") or None,
        "dias": request.args.get("dias", type=int),
    }


def _supporters(db: Any, rows: list[Report]) -> dict[int, int]:
    return dict(
        db.execute(
            select(ReportSupporter.report_id, func.count())
            .where(ReportSupporter.report_id.in_([r.id for r in rows]))
            .group_by(ReportSupporter.report_id)
        )
        .tuples()
        .all()
    )


def _filtered() -> Any:
    """The queue's query: the user's scope, then the filters in the address."""
    current = scope()
    chosen = _chosen()
    zone_id, category, status, older = (
        chosen["zona"],
        chosen["categoria"],
        chosen["estado"],
        chosen["dias"],
    )
    query = select(Report).order_by(Report.created_at.desc(), Report.id.desc())
    if current.zone_ids is not None:
        query = query.where(Report.zone_id.in_(current.zone_ids))
    if zone_id:
        if not current.reaches(zone_id):
            abort(403)
        query = query.where(Report.zone_id == zone_id)
    if category in REPORT_CATEGORIES:
        query = query.where(Report.category == category)
    if status in REPORT_STATUSES:
        query = query.where(Report.status == status)
    if older:
        query = query.where(Report.created_at <= utcnow() - timedelta(days=older))
    return query


@bp.route("/reportes/<code>", methods=["GET", "POST"])
@staff_page()
def report(code: str) -> Any:
    current = scope()
    form = StatusForm()
    if request.method == "POST":
        if not current.writes:
            abort(403)
        if form.validate_on_submit():
            with writing() as db:
                found = _report(db, code)
                try:
                    told = actions.change_report_status(
                        db,
                        state().config,
                        found,
                        form.status.data or "",
                        form.note.data,
                        user=me(db),
                        via="web",
                    )
                except actions.Refused as exc:
                    db.rollback()
                    flash(_("No se cambió: {reason}").format(reason=_refusal(exc)), "error")
                    return redirect(url_for("admin.report", code=code))
            new = STATUS_NAMES[form.status.data or ""]
            flash(
                _("{code}: ahora «{status}». Se avisará a {n} vecino(s).").format(
                    code=code, status=new, n=told
                )
            )
            return redirect(url_for("admin.report", code=code))
    with reading() as db:
        found = _report(db, code)
        reporter = db.get(Resident, found.resident_id) if found.resident_id else None
        supporters = db.scalar(
            select(func.count())
            .select_from(ReportSupporter)
            .where(ReportSupporter.report_id == found.id)
        )
        form.status.data = found.status
        return render_template(
            "admin/report.html",
            report=found,
            events=list(found.events),
            zone=found.zone.name if found.zone else "",
            reporter=mask_phone(reporter.phone if reporter else None, current),
            supporters=supporters or 0,
            form=form,
            statuses=STATUS_NAMES,
            categories=CATEGORY_NAMES,
            writes=current.writes,
        )


def _report(db: Any, code: str) -> Report:
    found = db.scalars(select(Report).where(Report.code == code.upper())).one_or_none()
    if found is None:
        abort(404)
    if not scope().reaches(found.zone_id):
        abort(403)
    return found


def _refusal(exc: Exception) -> str:
    text = str(exc)
    if "rejected" in text:
        return _("un reporte rechazado necesita una nota que explique por qué.")
    return text
