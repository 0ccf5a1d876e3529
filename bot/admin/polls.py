"""Polls: create one in Spanish and Aymara, invite residents to it, close it, read the results
with turnout, zona by zona, and a bar chart drawn on the server."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import Session
from wtforms import BooleanField, DateTimeLocalField, SelectMultipleField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from bot import actions, targets
from bot.admin.broadcasts import _preview as broadcast_preview
from bot.admin.broadcasts import target_choices
from bot.admin.charts import Bar, bar_chart
from bot.admin.common import bp, me, reading, scope, staff_page, state, writing
from bot.i18n.console import gettext as _
from bot.i18n.console import lazy_gettext as _l
from bot.scope import Scope, reachable_zones
from storage import broadcasts as broadcast_store
from storage import polls as store
from storage.models import Broadcast, Poll, utcnow

ELSEWHERE = _l("Otra zona o sin zona")  # voters who moved out of the poll's zonas since
OPTIONS_HELP = _l(
    "Una opción por línea, «español|aymara» (sin «|», el español sirve para los dos)."
)


class PollForm(FlaskForm):
    target = SelectMultipleField(_l("Destino"), validators=[DataRequired()], choices=[])
    question_es = TextAreaField(
        _l("Pregunta en español"), validators=[DataRequired(), Length(max=300)]
    )
    question_ay = TextAreaField(
        _l("Pregunta en aymara"), validators=[DataRequired(), Length(max=300)]
    )
    options = TextAreaField(
        _l("Opciones (de 2 a 9)"), validators=[DataRequired(), Length(max=2000)]
    )
    closes_at = DateTimeLocalField(
        _l("Cierra (hora de La Paz; vacío = abierta hasta cerrarla)"),
        format="%Y-%m-%dT%H:%M",
        validators=[Optional()],
    )


class InviteForm(FlaskForm):
    urgent = BooleanField(_l("Urgente: enviar aunque sea horario de silencio"))


@bp.route("/encuestas")
@staff_page()
def polls() -> Any:
    current = scope()
    with reading() as db:
        rows = store.polls_within(db, current.zone_ids)
        votes = store.votes_per_poll(db, [p.id for p in rows])
        return render_template(
            "admin/polls.html",
            rows=rows,
            votes=votes,
            now=utcnow(),
            writes=current.writes,
        )


@bp.route("/encuestas/nueva", methods=["GET", "POST"])
@staff_page(writes=True)
def poll_new() -> Any:
    current = scope()
    form = PollForm()
    with reading() as db:
        form.target.choices = target_choices(db, current)
    if not form.validate_on_submit():
        return render_template("admin/poll_new.html", form=form, help=OPTIONS_HELP)
    try:
        options = [
            actions.parse_option(line)
            for line in (form.options.data or "").splitlines()
            if line.strip()
        ]
    except actions.Refused as exc:
        form.options.errors = [exc.es]
        return render_template("admin/poll_new.html", form=form, help=OPTIONS_HELP)
    closes_at = None
    if form.closes_at.data:
        closes_at = form.closes_at.data.replace(tzinfo=broadcast_store.LA_PAZ)
    with writing() as db:
        target = _target(db, form.target.data or [], current)
        try:
            created = actions.create_poll(
                db,
                target=target,
                question_es=form.question_es.data or "",
                question_ay=form.question_ay.data or "",
                options=options,
                closes_at=closes_at,
                user=me(db),
                via="web",
            )
        except actions.Refused as exc:
            db.rollback()
            flash(_("No se creó la encuesta: {reason}").format(reason=exc.es), "error")
            return render_template("admin/poll_new.html", form=form, help=OPTIONS_HELP)
        poll_id = created.id
        costly = {lang: n for lang, n in actions.question_segments(created).items() if n > 1}
    flash(_("Encuesta {id} creada. Todavía nadie fue invitado a votar.").format(id=poll_id))
    for lang, n in costly.items():
        warning = (
            _("Atención: la pregunta en español ocupa {n} SMS por vecino.")
            if lang == "es"
            else _("Atención: la pregunta en aymara ocupa {n} SMS por vecino.")
        )
        flash(warning.format(n=n), "error")
    return redirect(url_for("admin.poll", poll_id=poll_id))


@bp.route("/encuestas/<int:poll_id>")
@staff_page()
def poll(poll_id: int) -> Any:
    with reading() as db:
        return _page(db, _poll(db, poll_id, scope()), InviteForm())


@bp.route("/encuestas/<int:poll_id>/invitar", methods=["POST"])
@staff_page(writes=True)
def poll_invite(poll_id: int) -> Any:
    """Without `confirmar`: who would get the invitation and what it costs, nothing written."""
    form = InviteForm()
    if not form.validate_on_submit():
        abort(400)
    preview = None
    with writing() as db:
        found = _poll(db, poll_id, scope())
        try:
            invitation = actions.invite_to_poll(
                db,
                state().config,
                found,
                urgent=bool(form.urgent.data),
                user=me(db),
                via="web",
            )
        except ValueError as exc:
            db.rollback()
            reason = exc.es if isinstance(exc, actions.Refused) else str(exc)
            flash(_("No se envió nada: {reason}").format(reason=reason), "error")
            return redirect(url_for("admin.poll", poll_id=poll_id))
        if "confirmar" in request.form:
            broadcast_id, recipients = invitation.id, invitation.recipients
        else:
            preview = broadcast_preview(db, invitation)
            db.rollback()  # only a preview: nothing is written
    if preview is not None:
        with reading() as db:
            return _page(db, _poll(db, poll_id, scope()), form, preview=preview)
    flash(
        _("Invitación enviada a {n} vecino(s): difusión {id}.").format(
            n=recipients, id=broadcast_id
        )
    )
    return redirect(url_for("admin.broadcast", broadcast_id=broadcast_id))


@bp.route("/encuestas/<int:poll_id>/cerrar", methods=["POST"])
@staff_page(writes=True)
def poll_close(poll_id: int) -> Any:
    with writing() as db:
        found = _poll(db, poll_id, scope())
        try:
            canceled = actions.close_poll(db, found, user=me(db), via="web")
        except actions.Refused as exc:
            db.rollback()
            flash(exc.es, "error")
            return redirect(url_for("admin.poll", poll_id=poll_id))
    closed = _("Encuesta {id} cerrada: ya no se aceptan votos.").format(id=poll_id)
    if canceled:
        closed += " " + _("Se canceló la invitación que todavía se estaba enviando.")
    flash(closed)
    return redirect(url_for("admin.poll", poll_id=poll_id))


def _page(db: Session, found: Poll, form: InviteForm, preview: dict[str, Any] | None = None) -> Any:
    current = scope()
    now = utcnow()
    by_zone = store.results_by_zone(db, found)
    results = store.results(db, found, eligible=sum(z.eligible for z in by_zone))
    names = {z.id: z.name for z in reachable_zones(db, current)}
    labels = [o.id for o in found.options]
    chart = bar_chart(
        f"votos-{found.id}",
        _("Votos por opción: {question}").format(question=found.question_es),
        [
            Bar(f"{o.position}. {o.label_es}", n, f"{n} ({_share(n, results.votes)})")
            for o, n in results.counts
        ],
        scale=results.votes,  # a bar's length is the option's share of the votes
    )
    zones = sorted(
        ((names.get(z.zone_id or 0, ELSEWHERE), z) for z in by_zone),
        key=lambda named: (named[0] == ELSEWHERE, named[0]),
    )
    turnout_chart = bar_chart(
        f"participacion-{found.id}",
        _("Participación por zona (% de vecinos que votaron)"),
        [
            Bar(name, 100 * z.turnout, f"{z.turnout:.0%} ({z.votes} de {z.eligible})")
            for name, z in zones
        ],
        scale=100,
    )
    invitations = db.scalars(
        select(Broadcast).where(Broadcast.poll_id == found.id).order_by(Broadcast.id)
    )
    return render_template(
        "admin/poll.html",
        poll=found,
        open=found.is_open(now),
        results=results,
        chart=chart,
        zones=zones,
        option_ids=list(labels),
        turnout_chart=turnout_chart,
        invitations=list(invitations),
        segments=actions.question_segments(found),
        form=form,
        preview=preview,
        writes=current.writes,
    )


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.0%}" if whole else "0%"


def _target(db: Session, picked: list[str], current: Scope) -> targets.Target:
    try:
        target = targets.resolve(db, ",".join(picked))
    except ValueError:
        abort(400)
    if not current.allows(target):
        abort(403)
    return target


def _poll(db: Session, poll_id: int, current: Scope) -> Poll:
    found = db.get(Poll, poll_id)
    if found is None:
        abort(404)
    if not current.allows(actions.poll_target(found)):
        abort(403)
    return found
