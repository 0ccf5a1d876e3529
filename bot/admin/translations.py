"""The translators' page: every catalog message in Spanish and Aymara, side by side, with its
SMS segments and review status; an Aymara text edited here is saved as import-review saves it
(placeholders checked) and compiled, so residents get it at once."""

from __future__ import annotations

import functools
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, TextAreaField
from wtforms.validators import Length

from bot import actions
from bot.admin.common import bp, me, scope, staff_page, writing
from bot.i18n import catalogs, review
from bot.i18n.console import gettext as _
from bot.i18n.console import lazy_gettext as _l

STATUS_NAMES = {
    "missing": _l("Falta traducir"),
    "needs review": _l("Revisar: el español cambió"),
    "draft": _l("Borrador"),
    "reviewed": _l("Revisado por un hablante nativo"),
}


class TextForm(FlaskForm):
    ay = TextAreaField(_l("Texto en aymara"), validators=[Length(max=1000)])
    status = SelectField(
        _l("Estado de la revisión"),
        choices=[(k, STATUS_NAMES[k]) for k in ("draft", "reviewed", "needs review")],
    )
    original = HiddenField()  # the Aymara the translator started from


@functools.cache
def _where_shown() -> dict[str, str]:
    """Where each message is used: read from the code once per process."""
    return review.where_shown()


# The rows and the stamps of what they were made from (the code's messages, both catalogs):
# rendering every message with realistic values and reading both catalogs takes most of a
# second, so a process does it again only after a save or a change to the code.
_made: tuple[tuple[object, ...], list[dict[str, str]]] | None = None


def _rows() -> list[dict[str, str]]:
    global _made
    # Stamped before reading: a catalog saved meanwhile is read again at the next request.
    stamp = (
        catalogs.source_stamp(),
        catalogs.catalog_stamp("es"),
        catalogs.catalog_stamp("ay"),
    )
    if _made is None or _made[0] != stamp:
        rows = review.review_rows(_where_shown())
        for row in rows:
            row["key"] = review.message_key(row["msgid"])
        _made = (stamp, rows)
    return [dict(row) for row in _made[1]]


def _translates() -> None:
    if not scope().translates:
        abort(403)  # the municipality and its translators only


@bp.route("/textos")
@staff_page(residents=False)
def texts() -> Any:
    _translates()
    status = request.args.get("estado") or ""
    words = (request.args.get("buscar") or "").strip().lower()
    rows = _rows()
    counts = {key: sum(1 for r in rows if r["status"] == key) for key in STATUS_NAMES}
    if status in STATUS_NAMES:
        rows = [r for r in rows if r["status"] == status]
    if words:
        rows = [r for r in rows if words in f"{r['msgid']} {r['es']} {r['ay']}".lower()]
    return render_template(
        "admin/texts.html",
        rows=rows,
        counts=counts,
        statuses=STATUS_NAMES,
        chosen={"estado": status, "buscar": words},
    )


@bp.route("/textos/<key>", methods=["GET", "POST"])
@staff_page(residents=False)
def text(key: str) -> Any:
    _translates()
    row = next((r for r in _rows() if r["key"] == key), None)
    if row is None:
        abort(404)
    form = TextForm()
    error = None
    if form.validate_on_submit():
        error = _save(row["msgid"], form)
        if error is None:
            return redirect(url_for("admin.text", key=key))
    elif request.method == "GET":
        form.ay.data = row["ay"]
        form.original.data = row["ay"]
        form.status.data = row["status"] if row["status"] != "missing" else "draft"
    return render_template(
        "admin/text.html",
        row=row,
        form=form,
        error=error,
        statuses=STATUS_NAMES,
        placeholders=sorted(catalogs.placeholders(row["msgid"])),
    )


def _save(msgid: str, form: TextForm) -> str | None:
    """Save the edit and say so (flashed); the reason, in Spanish, when it is refused."""
    with writing() as db:
        try:
            edit = actions.edit_translation(
                db,
                msgid,
                form.ay.data or "",
                form.status.data,
                expected=form.original.data,
                user=me(db),
                via="web",
            )
        except actions.Refused as exc:
            db.rollback()
            return exc.es
        except OSError as exc:  # the catalog files could not be written
            db.rollback()
            return _("no se pudo guardar el catálogo en el servidor ({reason}).").format(
                reason=exc.strerror
            )
    if not edit.changed:
        flash(_("No había cambios que guardar."))
        return None
    flash(_("Guardado y compilado: los vecinos ya reciben este texto."))
    for warning in _warnings(edit):
        flash(warning, "error")
    return None


def _warnings(edit: review.Edit) -> list[str]:
    found = [
        (
            _("Atención: en español ocupa {n} SMS con datos reales; los vecinos pagan cada uno.")
            if lang == "es"
            else _(
                "Atención: en aymara ocupa {n} SMS con datos reales; los vecinos pagan cada uno."
            )
        ).format(n=n)
        for lang, n in edit.segments.items()
        if n > 1
    ]
    return found + [_("Glosario: {problem}").format(problem=p) for p in edit.glossary]
