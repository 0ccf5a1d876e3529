"""Broadcasts: compose in Spanish and Aymara with the cost shown, preview, send, follow, cancel."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    SelectField,
    SelectMultipleField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from bot import actions, channels, targets
from bot.admin.common import bp, me, reading, scope, staff_page, state, writing
from bot.admin.vendor import HTMX
from bot.i18n.console import gettext as _
from bot.i18n.console import lazy_gettext as _l
from bot.outbound import Content, estimate, render_broadcast
from bot.scope import Scope, reachable_macrodistricts, reachable_zones
from storage import broadcasts as store
from storage.models import Broadcast, BroadcastZone, Delivery, utcnow

# Plain Spanish for Twilio's error codes staff meet most (twilio.com/docs/api/errors).
FAILURE_REASONS = {
    21211: _l("Número inválido"),
    21408: _l("El país del número no está habilitado en la cuenta"),
    21610: _l("La persona pidió no recibir más mensajes (STOP)"),
    21614: _l("El número no es un celular"),
    21635: _l("Número no admitido para mensajes"),
    30003: _l("Teléfono apagado o sin señal"),
    30004: _l("El destinatario bloqueó los mensajes"),
    30005: _l("Número desconocido o dado de baja por el operador"),
    30006: _l("Línea fija o el operador no entrega SMS"),
    30007: _l("El operador filtró el mensaje"),
    30008: _l("Error desconocido del operador"),
    63016: _l("Fuera de la ventana de 24 horas de WhatsApp"),
}
STATUS_NAMES = {
    "scheduled": _l("Programado"),
    "preparing": _l("Preparando"),
    "sending": _l("Enviando"),
    "done": _l("Terminado"),
    "canceled": _l("Cancelado"),
}
LIVE = ("scheduled", "preparing", "sending")  # the page keeps refreshing while one of these
COUNT_NAMES = {
    "pending": _l("En cola"),
    "sending": _l("Enviándose"),
    "sent": _l("Enviados"),
    "delivered": _l("Entregados"),
    "read": _l("Leídos"),
    "failed": _l("Fallidos"),
    "unknown": _l("Sin confirmar (se consulta a Twilio)"),
    "opted_out": _l("Dados de baja"),
    "canceled": _l("Cancelados"),
}


class ComposeForm(FlaskForm):
    target = SelectMultipleField(_l("Destino"), validators=[DataRequired()], choices=[])
    text_es = TextAreaField(_l("Texto en español"), validators=[DataRequired(), Length(max=1000)])
    text_ay = TextAreaField(_l("Texto en aymara"), validators=[Length(max=1000)])
    kind = SelectField(
        _l("Tema"), choices=[("announcement", _l("Anuncio")), ("news", _l("Noticias"))]
    )
    send_at = DateTimeLocalField(
        _l("Programar (hora de La Paz; vacío = ahora)"),
        format="%Y-%m-%dT%H:%M",
        validators=[Optional()],
    )
    urgent = BooleanField(_l("Urgente: enviar aunque sea horario de silencio"))


def target_choices(db: Session, current: Scope) -> list[tuple[str, str]]:
    choices: list[tuple[str, str]] = []
    if current.citywide:
        choices.append(("all", _("Toda la ciudad")))
    choices += [
        (f"macro:{m.name}", _("Macrodistrito {name}").format(name=m.name))
        for m in reachable_macrodistricts(db, current)
    ]
    choices += [
        (f"zona:{z.name}", _("Zona {name}").format(name=z.name))
        for z in reachable_zones(db, current)
    ]
    return choices


@bp.route("/difusiones")
@staff_page()
def broadcasts() -> Any:
    """The latest 100 broadcasts in scope. The list shows no delivery counts (each broadcast's
    page has them): counting a city's deliveries for 100 broadcasts took seconds."""
    current = scope()
    with reading() as db:
        query = select(Broadcast).order_by(Broadcast.id.desc()).limit(100)
        if not current.citywide:
            zone_ids = current.zone_ids or frozenset()
            inside = select(BroadcastZone.broadcast_id).where(BroadcastZone.zone_id.in_(zone_ids))
            outside = select(BroadcastZone.broadcast_id).where(
                BroadcastZone.zone_id.not_in(zone_ids)
            )
            query = query.where(
                Broadcast.citywide.is_(False),
                Broadcast.id.in_(inside),
                Broadcast.id.not_in(outside),
            )
        return render_template(
            "admin/broadcasts.html",
            rows=list(db.scalars(query)),
            statuses=STATUS_NAMES,
            writes=current.writes,
        )


@bp.route("/difusiones/nueva", methods=["GET", "POST"])
@staff_page(writes=True)
def broadcast_new() -> Any:
    current = scope()
    form = ComposeForm()
    with reading() as db:
        form.target.choices = target_choices(db, current)
    preview: dict[str, Any] | None = None
    if form.validate_on_submit():
        spec = ",".join(form.target.data or [])
        send_at = None
        if form.send_at.data:
            send_at = form.send_at.data.replace(tzinfo=store.LA_PAZ)
            if send_at <= utcnow():
                form.send_at.errors = [_("Esa hora ya pasó.")]
                return _compose(form, preview)
        with writing() as db:
            try:
                target = targets.resolve(db, spec)
                if not current.allows(target):
                    abort(403)
                created = actions.send_broadcast(
                    db,
                    state().config,
                    target=target,
                    text_es=form.text_es.data or "",
                    text_ay=form.text_ay.data or None,
                    kind=form.kind.data or "announcement",
                    urgent=bool(form.urgent.data),
                    send_at=send_at,
                    user=me(db),
                    via="web",
                )
                preview = _preview(db, created)
                if "confirmar" not in request.form:
                    db.rollback()  # only a preview: nothing is written
                    return _compose(form, preview)
                broadcast_id = created.id
            except store.MissingLanguageError as exc:
                db.rollback()
                form.text_ay.errors = [
                    _(
                        "{n} vecino(s) de este destino leen aymara: falta el texto en aymara."
                    ).format(n=exc.residents)
                ]
                return _compose(form, preview)
            except ValueError as exc:
                db.rollback()
                flash(_("No se envió nada: {reason}").format(reason=exc), "error")
                return _compose(form, preview)
        flash(
            _("Difusión {id} creada: {summary}.").format(
                id=broadcast_id, summary=preview["summary"]
            )
        )
        return redirect(url_for("admin.broadcast", broadcast_id=broadcast_id))
    return _compose(form, preview)


def _compose(form: ComposeForm, preview: dict[str, Any] | None) -> Any:
    counts = sms_counts(form.text_es.data or "", form.text_ay.data or "")
    return render_template("admin/broadcast_new.html", form=form, preview=preview, counts=counts)


def sms_counts(text_es: str, text_ay: str) -> dict[str, int]:
    """SMS per resident in each language, the frame and the BAJA line included."""
    fold = state().config.gsm7_fold
    return {
        lang: channels.segments(
            render_broadcast(
                Content("announcement", text, text, None, None), lang, "sms", fold=fold
            )
        )
        for lang, text in (("es", text_es), ("ay", text_ay))
    }


@bp.route("/difusiones/segmentos", methods=["POST"])
@staff_page(writes=True)
def broadcast_segments() -> Any:
    """The live counter of the compose page (it works without it: the preview counts too)."""
    data = request.get_json(silent=True) or {}
    return jsonify(sms_counts(str(data.get("es") or "")[:1000], str(data.get("ay") or "")[:1000]))


def _preview(db: Session, broadcast: Broadcast) -> dict[str, Any]:
    cost = estimate(db, broadcast, fold=state().config.gsm7_fold)
    content = Content.of(broadcast)
    samples = {
        lang: render_broadcast(content, lang, "sms", fold=state().config.gsm7_fold)
        for lang in ("es", "ay")
        if cost.recipients_by_language.get(lang) or lang == "es"
    }
    summary = _("{n} vecino(s), {sms} SMS en total").format(n=cost.recipients, sms=cost.sms)
    return {"cost": cost, "samples": samples, "summary": summary}


@bp.route("/difusiones/<int:broadcast_id>")
@staff_page()
def broadcast(broadcast_id: int) -> Any:
    return _progress(broadcast_id, "admin/broadcast.html")


@bp.route("/difusiones/<int:broadcast_id>/avance")
@staff_page()
def broadcast_progress(broadcast_id: int) -> Any:
    """The live part of the broadcast page alone, which htmx fetches every few seconds."""
    return _progress(broadcast_id, "admin/_broadcast_progress.html")


def _progress(broadcast_id: int, template: str) -> Any:
    current = scope()
    with reading() as db:
        found = _broadcast(db, broadcast_id, current)
        summary = store.broadcast_summary(db, found)
        failures = db.execute(
            select(Delivery.error_code, func.count())
            .where(
                Delivery.broadcast_id == found.id, Delivery.status.in_(("failed", "undelivered"))
            )
            .group_by(Delivery.error_code)
        ).all()
        counts = summary["status_counts"]
        # Before the rows exist (scheduled, preparing) nothing is processed yet: 0%, not 100%.
        rows = sum(counts.values())
        total = max(rows, found.recipients or 0)
        done = rows - counts["pending"] - counts["sending"]
        paused = store.QuietHours.parse(state().config.quiet_hours)
        quiet = (
            found.status in ("scheduled", "sending")
            and not found.urgent
            and paused.contains(utcnow())
        )
        return render_template(
            template,
            b=found,
            summary=summary,
            counts=counts,
            names=COUNT_NAMES,
            statuses=STATUS_NAMES,
            percent=round(100 * done / total) if total else (100 if found.status == "done" else 0),
            failures=[
                (
                    FAILURE_REASONS.get(
                        code or 0, _("Error {code}").format(code=code) if code else _("Sin código")
                    ),
                    n,
                )
                for code, n in failures
            ],
            quiet=quiet,
            writes=current.writes,
            live=found.status in LIVE,
            refresh=found.status in LIVE,
            htmx=HTMX,
        )


@bp.route("/difusiones/<int:broadcast_id>/cancelar", methods=["POST"])
@staff_page(writes=True)
def broadcast_cancel(broadcast_id: int) -> Any:
    with writing() as db:
        found = _broadcast(db, broadcast_id, scope())
        try:
            canceled = actions.cancel_broadcast(db, found, user=me(db), via="web")
        except ValueError:
            db.rollback()
            flash(_("Esta difusión ya terminó: no hay nada que cancelar."), "error")
            return redirect(url_for("admin.broadcast", broadcast_id=broadcast_id))
    flash(
        _("Difusión {id} cancelada: {n} mensaje(s) no saldrán.").format(id=broadcast_id, n=canceled)
    )
    return redirect(url_for("admin.broadcast", broadcast_id=broadcast_id))


@bp.route("/difusiones/<int:broadcast_id>/reenviar", methods=["POST"])
@staff_page(writes=True)
def broadcast_resend(broadcast_id: int) -> Any:
    with writing() as db:
        found = _broadcast(db, broadcast_id, scope())
        try:
            resent = actions.resend_failed(db, found, user=me(db), via="web")
        except actions.Refused:
            db.rollback()
            flash(_("Esta difusión fue cancelada: no se reenvía."), "error")
            return redirect(url_for("admin.broadcast", broadcast_id=broadcast_id))
    if resent:
        flash(_("Se reenvían {n} mensaje(s) que fallaron por causas pasajeras.").format(n=resent))
    else:
        flash(_("No hay mensajes fallidos que valga la pena reenviar."))
    return redirect(url_for("admin.broadcast", broadcast_id=broadcast_id))


def _visible(db: Session, broadcast: Broadcast, current: Scope) -> bool:
    if current.citywide:
        return True
    if broadcast.citywide:
        return False
    zone_ids = {z.id for z in broadcast.zones}
    return bool(zone_ids) and zone_ids <= (current.zone_ids or frozenset())


def _broadcast(db: Session, broadcast_id: int, current: Scope) -> Broadcast:
    found = db.get(Broadcast, broadcast_id)
    if found is None:
        abort(404)
    if not _visible(db, found, current):
        abort(403)
    return found
