"""Zona information: the items residents read with INFO, with the day each was last checked.

Staff see the items of their scope, flagged when not checked for INFO_STALE_DAYS, 50 a page;
those who write add, edit, mark as checked, delete and import a CSV (the columns of `mibarrio
info export`), each only for places they keep (bot.scope.Scope.keeps): a leader their zona,
a subalcaldía its macrodistrito and its zonas, the city everything.
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from sqlalchemy import and_, case, func, or_, select
from wtforms import SelectField, TextAreaField
from wtforms.validators import DataRequired, Length

from bot import actions
from bot.admin.common import bp, me, paged, reading, scope, staff_page, state, writing
from bot.admin.exports import csv_response
from bot.i18n.console import gettext as _
from bot.scope import Scope, reachable_macrodistricts, reachable_zones
from storage import info as store
from storage.models import INFO_CATEGORIES, InfoItem, aware, utcnow

CATEGORY_NAMES = {
    "health": "Salud",
    "school": "Escuela",
    "police": "Policía",
    "market": "Ferias",
    "water": "Agua",
    "trash": "Basura",
    "junta": "Junta vecinal",
    "emergency": "Emergencias",
    "subalcaldia": "Subalcaldía",
    "places": "Lugares del barrio",
}
# Every category residents may see can be added here (a test keeps the two in step).
assert set(CATEGORY_NAMES) == set(INFO_CATEGORIES), "name every INFO_CATEGORIES in the console"


class ItemForm(FlaskForm):
    category = SelectField("Categoría", choices=[(c, CATEGORY_NAMES[c]) for c in INFO_CATEGORIES])
    place = SelectField("Dónde", choices=[])
    text_es = TextAreaField("Texto en español", validators=[DataRequired(), Length(max=300)])
    text_ay = TextAreaField("Texto en aymara (si falta, se muestra el español)", [Length(max=300)])


class EditForm(FlaskForm):
    text_es = TextAreaField("Texto en español", validators=[DataRequired(), Length(max=300)])
    text_ay = TextAreaField("Texto en aymara (si falta, se muestra el español)", [Length(max=300)])


def _visible(current: Scope) -> Any:
    """Items a user sees: the zonas in scope, their macrodistrito (a subalcaldía), all (city)."""
    query = select(InfoItem)
    if current.zone_ids is None:
        return query
    own = InfoItem.zone_id.in_(current.zone_ids)
    if current.macrodistrict_id is not None:
        macro = and_(
            InfoItem.zone_id.is_(None), InfoItem.macrodistrict_id == current.macrodistrict_id
        )
        return query.where(or_(own, macro))
    return query.where(own)


def _place_choices(db: Any, current: Scope) -> list[tuple[str, str]]:
    choices = [("all", "Toda la ciudad")] if current.citywide else []
    choices += [(f"macro:{m.name}", f"Macrodistrito {m.name}") for m in _macros(db, current)]
    choices += [(f"zona:{z.name}", f"Zona {z.name}") for z in reachable_zones(db, current)]
    return choices


def _macros(db: Any, current: Scope) -> list[Any]:
    return [m for m in reachable_macrodistricts(db, current) if current.keeps(None, m.id)]


def _stale_before() -> Any:
    return utcnow() - timedelta(days=state().config.info_stale_days)


def stale_count(db: Any, current: Scope) -> int:
    """Items in the user's scope not checked for INFO_STALE_DAYS (the home page flags them: a
    zona's leader hears of their zona's by SMS, nobody of the macrodistrito's or the city's)."""
    query = _visible(current).where(InfoItem.checked_at < _stale_before())
    return int(db.scalar(query.with_only_columns(func.count(InfoItem.id))) or 0)


def _query(current: Scope) -> Any:
    """The items listed, filtered by ?zona= and ?vencidos=, by category (as residents see
    them) then id."""
    query = _visible(current)
    zone_id = request.args.get("zona", type=int)
    if zone_id:
        if not current.reaches(zone_id):
            abort(403)
        query = query.where(InfoItem.zone_id == zone_id)
    if request.args.get("vencidos"):
        query = query.where(InfoItem.checked_at < _stale_before())
    order = case({c: n for n, c in enumerate(INFO_CATEGORIES)}, value=InfoItem.category)
    return query.order_by(order, InfoItem.id)


@bp.route("/info", methods=["GET", "POST"])
@staff_page()
def info() -> Any:
    current = scope()
    form = ItemForm()
    with reading() as db:
        form.place.choices = _place_choices(db, current)
    if request.method == "POST":
        if not current.writes:
            abort(403)
        if form.validate_on_submit():
            with writing() as db:
                try:
                    place = store.resolve_scope(db, form.place.data or "")
                except ValueError:
                    abort(400)
                if not current.keeps(place.zone_id, place.macrodistrict_id):
                    abort(403)
                try:
                    item = actions.add_info(
                        db,
                        category=form.category.data or "",
                        place=place,
                        text_es=form.text_es.data or "",
                        text_ay=form.text_ay.data,
                        user=me(db),
                        via="web",
                    )
                except actions.Refused as exc:
                    db.rollback()
                    flash(_("No se agregó: {reason}").format(reason=exc.es), "error")
                    return _page(form)
                item_id = item.id
            flash(_("Información {id} agregada: los vecinos la leen con INFO.").format(id=item_id))
            return redirect(url_for("admin.info"))
    return _page(form)


def _page(form: ItemForm) -> Any:
    current = scope()
    with reading() as db:
        rows, pages = paged(db, _query(current))
        return render_template(
            "admin/info.html",
            rows=rows,
            pages=pages,
            form=form,
            writes=current.writes,
            keeps={i.id: current.keeps(i.zone_id, i.macrodistrict_id) for i in rows},
            stale_before=_stale_before(),
            stale_days=int(state().config.info_stale_days),
            zones=reachable_zones(db, current),
            chosen_zone=request.args.get("zona", type=int),
            only_stale=bool(request.args.get("vencidos")),
            categories=CATEGORY_NAMES,
            place=store.scope_of,
            aware=aware,
        )


def _item(db: Any, item_id: int, *, editing: bool) -> InfoItem:
    item = db.get(InfoItem, item_id)
    if item is None:
        abort(404)
    current = scope()
    seen = db.scalar(_visible(current).where(InfoItem.id == item_id).with_only_columns(InfoItem.id))
    if seen is None or (editing and not current.keeps(item.zone_id, item.macrodistrict_id)):
        abort(403)
    return item


@bp.route("/info/<int:item_id>", methods=["GET", "POST"])
@staff_page()
def info_item(item_id: int) -> Any:
    current = scope()
    form = EditForm()
    if request.method == "POST":
        if not current.writes:
            abort(403)
        if form.validate_on_submit():
            with writing() as db:
                item = _item(db, item_id, editing=True)
                try:
                    actions.edit_info(
                        db,
                        item,
                        text_es=form.text_es.data or "",
                        text_ay=form.text_ay.data,
                        user=me(db),
                        via="web",
                    )
                except actions.Refused as exc:
                    db.rollback()
                    flash(_("No se guardó: {reason}").format(reason=exc.es), "error")
                    return redirect(url_for("admin.info_item", item_id=item_id))
            flash(_("Información {id} guardada y marcada como revisada hoy.").format(id=item_id))
            return redirect(url_for("admin.info"))
    with reading() as db:
        item = _item(db, item_id, editing=False)
        if request.method == "GET":
            form.text_es.data, form.text_ay.data = item.text_es, item.text_ay or ""
        return render_template(
            "admin/info_item.html",
            item=item,
            form=form,
            may_edit=current.writes and current.keeps(item.zone_id, item.macrodistrict_id),
            place=store.scope_of(item),
            categories=CATEGORY_NAMES,
        )


@bp.route("/info/<int:item_id>/revisado", methods=["POST"])
@staff_page(writes=True)
def info_checked(item_id: int) -> Any:
    with writing() as db:
        item = _item(db, item_id, editing=True)
        actions.check_info(db, item, user=me(db), via="web")
    flash(_("Información {id} marcada como revisada hoy.").format(id=item_id))
    return redirect(request.referrer or url_for("admin.info"))


@bp.route("/info/<int:item_id>/borrar", methods=["POST"])
@staff_page(writes=True)
def info_remove(item_id: int) -> Any:
    """Delete an item (scoped like editing); the audit log keeps what it said."""
    with writing() as db:
        item = _item(db, item_id, editing=True)
        actions.remove_info(db, item, user=me(db), via="web")
    flash(_("Información {id} borrada: los vecinos ya no la leen.").format(id=item_id))
    return redirect(url_for("admin.info"))


@bp.route("/info.csv")
@staff_page()
def info_csv() -> Any:
    """The items in scope, in the columns `mibarrio info import` and the import form read."""
    with reading() as db:
        items = list(db.scalars(_query(scope())))
        return csv_response(
            "info.csv",
            store.CSV_COLUMNS,
            (
                [
                    i.id,
                    i.category,
                    store.scope_of(i),
                    i.text_es,
                    i.text_ay or "",
                    aware(i.checked_at).date().isoformat(),
                ]
                for i in items
            ),
        )


@bp.route("/info/importar", methods=["POST"])
@staff_page(writes=True)
def info_import() -> Any:
    current = scope()
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash(_("Elija un archivo CSV."), "error")
        return redirect(url_for("admin.info"))
    try:
        text = upload.read().decode("utf-8-sig")
    except UnicodeDecodeError:
        flash(_("El archivo no está en UTF-8: guárdelo como «CSV UTF-8»."), "error")
        return redirect(url_for("admin.info"))
    rows = list(csv.DictReader(io.StringIO(text)))
    with writing() as db:
        try:
            added, updated = actions.import_info(
                db, rows, keeps=current.keeps, user=me(db), via="web"
            )
        except actions.Refused as exc:
            db.rollback()
            flash(_("No se importó nada. {reason}").format(reason=exc.es), "error")
            return redirect(url_for("admin.info"))
    flash(
        _("Importado: {added} nuevas, {updated} actualizadas.").format(added=added, updated=updated)
    )
    return redirect(url_for("admin.info"))
