"""News: the items residents read with 3 in the menu, listed within scope, and publishing one."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from wtforms import SelectMultipleField, TextAreaField
from wtforms.validators import DataRequired, Length

from bot import actions, targets
from bot.admin.broadcasts import target_choices
from bot.admin.common import bp, me, reading, scope, staff_page, writing
from bot.i18n.console import gettext as _
from bot.i18n.console import lazy_gettext as _l
from storage import news as store


class NewsForm(FlaskForm):
    target = SelectMultipleField(_l("Destino"), validators=[DataRequired()], choices=[])
    text_es = TextAreaField(_l("Texto en español"), validators=[DataRequired(), Length(max=400)])
    text_ay = TextAreaField(_l("Texto en aymara"), validators=[DataRequired(), Length(max=400)])


@bp.route("/noticias", methods=["GET", "POST"])
@staff_page()
def news() -> Any:
    current = scope()
    form = NewsForm()
    with reading() as db:
        form.target.choices = target_choices(db, current)
    if form.is_submitted():
        if not current.writes:
            abort(403)
        if form.validate():
            with writing() as db:
                try:
                    target = targets.resolve(db, ",".join(form.target.data or []))
                except ValueError:
                    abort(400)
                if not current.allows(target):
                    abort(403)
                try:
                    item = actions.publish_news(
                        db,
                        target=target,
                        text_es=form.text_es.data or "",
                        text_ay=form.text_ay.data or "",
                        user=me(db),
                        via="web",
                    )
                except actions.TooLong as exc:
                    db.rollback()
                    field = form.text_es if exc.lang == "es" else form.text_ay
                    field.errors = [exc.es]
                    return _page(form, current.writes)
                except actions.Refused as exc:
                    db.rollback()
                    flash(_("No se publicó: {reason}").format(reason=exc.es), "error")
                    return _page(form, current.writes)
                item_id, spec = item.id, item.target
            flash(
                _(
                    "Noticia {id} publicada para {target}: los vecinos la leen con 3 en el menú."
                ).format(id=item_id, target=spec)
            )
            return redirect(url_for("admin.news"))
    return _page(form, current.writes)


def _page(form: NewsForm, writes: bool) -> Any:
    with reading() as db:
        rows = store.news_within(db, scope().zone_ids)
        return render_template("admin/news.html", rows=rows, form=form, writes=writes)
