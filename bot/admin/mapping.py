"""Mapeo: the youth mappers' review queue by zona and status (50 a page), approve / edit /
reject (the kind corrected if the mapper picked the wrong one), progress per zona and per mapper,
registering and removing mappers.

Scoped like reports: a leader reaches their zona, a subalcaldía its macrodistrito, viewers read
only; phones are masked for everyone but municipality staff. Every change goes through
bot.actions (the same as `mibarrio mapper`) and is audited.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField, TextAreaField
from wtforms.validators import AnyOf, DataRequired, Length, Optional

from bot import actions, channels
from bot.admin.common import bp, me, paged, reading, scope, staff_page, writing
from bot.flows.mapping import KIND_LABELS, MAX_DESCRIPTION
from bot.i18n import t
from bot.i18n.console import gettext as _
from bot.scope import mask_phone, reachable_zones
from storage import mapping as store
from storage.models import (
    MAP_COVERED_KINDS,
    MAP_KINDS,
    MAP_STATUSES,
    MappedItem,
    Mapper,
    Report,
    Zone,
)

STATUS_NAMES = {"pending": "Por revisar", "approved": "Aprobado", "rejected": "Rechazado"}


class ReviewForm(FlaskForm):
    decision = HiddenField(validators=[AnyOf(("approve", "edit", "reject"))])
    description = TextAreaField("Descripción", validators=[Length(max=MAX_DESCRIPTION)])
    note = StringField("Nota para el mapeador", validators=[Length(max=200)])
    kind = StringField("Tipo", validators=[Optional(), AnyOf(MAP_KINDS)])


class MapperForm(FlaskForm):
    phone = StringField("Teléfono del vecino", validators=[DataRequired(), Length(max=30)])


class RemoveMapperForm(FlaskForm):
    """Only the CSRF token: the mapper is in the address."""


def _kinds() -> dict[str, str]:
    return {kind: t("es", KIND_LABELS[kind]) for kind in MAP_KINDS}


def _chosen() -> dict[str, Any]:
    status = request.args.get("estado", "pending")
    return {
        "zona": request.args.get("zona", type=int),
        "estado": status if status in MAP_STATUSES else None,
    }


@bp.route("/mapeo")
@staff_page()
def mapping() -> Any:
    current = scope()
    chosen = _chosen()
    if chosen["zona"] and not current.reaches(chosen["zona"]):
        abort(403)
    zone_ids = [chosen["zona"]] if chosen["zona"] else current.zone_ids
    with reading() as db:
        rows, pages = paged(db, store.items_query(zone_ids, chosen["estado"]))
        zones = reachable_zones(db, current)
        names = {z.id: z.name for z in zones}
        progress = sorted(
            store.zone_progress(db, zone_ids).items(), key=lambda r: names.get(r[0], "")
        )
        mappers = [
            (m, p, mask_phone(m.resident.phone, current))
            for m, p in store.mapper_progress(db, zone_ids)
        ]
        reports = {
            r.id: r.code
            for r in db.query(Report).filter(Report.id.in_([i.report_id for i in rows]))
        }
        return render_template(
            "admin/mapping.html",
            rows=rows,
            zones=zones,
            zone_names=names,
            statuses=STATUS_NAMES,
            kinds=_kinds(),
            chosen=chosen,
            progress=progress,
            mappers=mappers,
            reports=reports,
            all_kinds=len(MAP_COVERED_KINDS),
            writes=current.writes,
            form=ReviewForm(),
            mapper_form=MapperForm(),
            remove_form=RemoveMapperForm(),
            pages=pages,
        )


@bp.route("/mapeo/<int:item_id>", methods=["POST"])
@staff_page(writes=True)
def mapping_review(item_id: int) -> Any:
    form = ReviewForm()
    if not form.validate_on_submit():
        abort(400)
    with writing() as db:
        item = db.get(MappedItem, item_id)
        if item is None:
            abort(404)
        if not scope().reaches(item.zone_id):
            abort(403)
        decision = form.decision.data or ""
        try:
            made = actions.review_mapped_item(
                db,
                item,
                decision,
                description=form.description.data or None,
                note=form.note.data or None,
                kind=form.kind.data or None,
                user=me(db),
                via="web",
            )
        except actions.Refused as exc:
            db.rollback()
            flash(_("No se guardó: {reason}").format(reason=exc.es), "error")
            return redirect(url_for("admin.mapping"))
        if isinstance(made, Report):
            message = _("Registro {id} aprobado: es el reporte {code}.").format(
                id=item_id, code=made.code
            )
        elif made is not None:
            message = _("Registro {id} aprobado: ya es información de la zona.").format(id=item_id)
        elif decision == "reject":
            message = _("Registro {id} rechazado: se avisó al mapeador.").format(id=item_id)
        else:
            message = _("Registro {id} corregido.").format(id=item_id)
    flash(message)
    return redirect(url_for("admin.mapping"))


@bp.route("/mapeo/mapeadores", methods=["POST"])
@staff_page(writes=True)
def mapping_add_mapper() -> Any:
    form = MapperForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        phone, _channel = channels.parse_address(form.phone.data or "")
    except ValueError:
        flash(_("No se registró: el teléfono no es válido."), "error")
        return redirect(url_for("admin.mapping"))
    with writing() as db:
        resident = store.resident_by_phone(db, phone)
        zone = db.get(Zone, resident.zone_id) if resident and resident.zone_id else None
        if resident is None or zone is None:
            flash(_("No se registró: ese número no está inscrito en Mi Barrio."), "error")
            return redirect(url_for("admin.mapping"))
        if not scope().reaches(zone.id):
            abort(403)
        try:
            new = actions.add_mapper(db, resident, zone, user=me(db), via="web")
        except actions.Refused as exc:
            db.rollback()
            flash(_("No se registró: {reason}").format(reason=exc.es), "error")
            return redirect(url_for("admin.mapping"))
        name = zone.name
    flash(
        (_("Mapeador de {zone} registrado.") if new else _("Ya era mapeador de {zone}.")).format(
            zone=name
        )
    )
    return redirect(url_for("admin.mapping"))


@bp.route("/mapeo/mapeadores/<int:mapper_id>/baja", methods=["POST"])
@staff_page(writes=True)
def mapping_remove_mapper(mapper_id: int) -> Any:
    """The mapper is one no more (told by SMS); what they recorded stays."""
    if not RemoveMapperForm().validate_on_submit():
        abort(400)
    with writing() as db:
        mapper = db.get(Mapper, mapper_id)
        if mapper is None or not mapper.active:
            abort(404)
        if not scope().reaches(mapper.zone_id):
            abort(403)
        zone = db.get(Zone, mapper.zone_id)
        assert zone is not None
        try:
            actions.remove_mapper(db, mapper.resident, zone, user=me(db), via="web")
        except actions.Refused as exc:
            db.rollback()
            flash(_("No se dio de baja: {reason}").format(reason=exc.es), "error")
            return redirect(url_for("admin.mapping"))
        name = zone.name
    flash(_("Mapeador de {zone} dado de baja: se le avisó por SMS.").format(zone=name))
    return redirect(url_for("admin.mapping"))
