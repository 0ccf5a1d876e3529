"""/api/v1: JSON for the municipality's other systems, with per-user tokens.

`Authorization: Bearer <token>` (from `mibarrio user token EMAIL`). The same scope as the
console decides what a token reaches, the same actions (bot.actions) change things, and every
change is in the audit log.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from flask import Blueprint, abort, current_app, g, jsonify, request
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException

from bot import actions, targets
from bot.app_state import AppState
from bot.evidence import memo
from bot.evidence.measures import CITY, STEPS, UnknownPlace, date_range, local_midnight
from bot.evidence.scoped import OutOfScope, place_for
from bot.scope import Scope, scope_of
from storage import audience, staff
from storage import broadcasts as store
from storage import polls as poll_store
from storage.broadcasts import LA_PAZ
from storage.models import (
    Broadcast,
    Poll,
    Report,
    ReportSupporter,
    StaffUser,
    Zone,
    aware,
    utcnow,
)

bp = Blueprint("api", __name__, url_prefix="/api/v1")

F = TypeVar("F", bound=Callable[..., Any])
PAGE = 100


def _state() -> AppState:
    found: AppState = current_app.extensions["mibarrio"]
    return found


def authenticated(*, writes: bool = False) -> Callable[[F], F]:
    """A live token of an active user whose role may do this; its session for the call."""

    def wrap(view: F) -> F:
        @functools.wraps(view)
        def checked(*args: Any, **kwargs: Any) -> Any:
            header = request.headers.get("Authorization", "")
            token = header[7:].strip() if header.lower().startswith("bearer ") else ""
            with _state().sessions() as session, session.begin():
                user = staff.user_for_token(session, token) if token else None
                if user is None:
                    return _error(401, "a valid token is needed: Authorization: Bearer <token>")
                scope = scope_of(session, user)
                if not scope.sees_residents or (writes and not scope.writes):
                    return _error(403, f"the role {user.role} may not do this")
                g.user, g.scope, g.db = user, scope, session
                return view(*args, **kwargs)

        return checked  # type: ignore[return-value]

    return wrap


def _error(status: int, message: str) -> Any:
    response = jsonify({"error": message})
    response.status_code = status
    return response


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> Any:
    return _error(exc.code or 500, exc.description or exc.name)


def _db() -> Session:
    found: Session = g.db
    return found


def _scope() -> Scope:
    found: Scope = g.scope
    return found


def _user() -> StaffUser:
    found: StaffUser = g.user
    return found


def _body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        abort(400, "send a JSON object")
    return data


# -- broadcasts ---------------------------------------------------------------------------------


def _broadcast(broadcast_id: int) -> Broadcast:
    found = _db().get(Broadcast, broadcast_id)
    if found is None:
        abort(404, f"no broadcast {broadcast_id}")
    scope = _scope()
    if not scope.citywide:
        zone_ids = {z.id for z in found.zones}
        if found.citywide or not zone_ids or not zone_ids <= (scope.zone_ids or frozenset()):
            abort(403, "this broadcast is outside your scope")
    return found


@bp.post("/broadcasts")
@authenticated(writes=True)
def create_broadcast() -> Any:
    data = _body()
    try:
        target = targets.resolve(_db(), str(data.get("target") or ""))
    except ValueError as exc:
        abort(400, str(exc))
    if not _scope().allows(target):
        abort(403, "this target is outside your scope")
    send_at = None
    if data.get("send_at"):
        try:
            send_at = datetime.fromisoformat(str(data["send_at"]))
        except ValueError:
            abort(400, "send_at: use ISO-8601, e.g. 2026-12-24T08:00 (La Paz time)")
        send_at = send_at if send_at.tzinfo else send_at.replace(tzinfo=LA_PAZ)
    try:
        created = actions.send_broadcast(
            _db(),
            _state().config,
            target=target,
            text_es=str(data.get("text_es") or ""),
            text_ay=str(data["text_ay"]) if data.get("text_ay") else None,
            kind=str(data.get("kind") or "announcement"),
            urgent=bool(data.get("urgent")),
            send_at=send_at,
            user=_user(),
            via="api",
        )
    except ValueError as exc:
        _db().rollback()
        abort(422, str(exc))
    response = jsonify(store.broadcast_summary(_db(), created))
    response.status_code = 201
    return response


@bp.get("/broadcasts/<int:broadcast_id>")
@authenticated()
def get_broadcast(broadcast_id: int) -> Any:
    return jsonify(store.broadcast_summary(_db(), _broadcast(broadcast_id)))


@bp.post("/broadcasts/<int:broadcast_id>/cancel")
@authenticated(writes=True)
def cancel_broadcast(broadcast_id: int) -> Any:
    found = _broadcast(broadcast_id)
    try:
        canceled = actions.cancel_broadcast(_db(), found, user=_user(), via="api")
    except ValueError as exc:
        _db().rollback()
        abort(409, str(exc))
    return jsonify({**store.broadcast_summary(_db(), found), "not_sent": canceled})


# -- reports ------------------------------------------------------------------------------------


def _report_json(report: Report, supporters: int, zone: str | None) -> dict[str, Any]:
    return {
        "code": report.code,
        "zone": zone,
        "category": report.category,
        "status": report.status,
        "status_note": report.status_note,
        "description": report.description,
        "supporters": supporters,
        "created_at": aware(report.created_at).isoformat(),
        "updated_at": aware(report.updated_at).isoformat(),
    }


@bp.get("/reports")
@authenticated()
def list_reports() -> Any:
    scope = _scope()
    query = select(Report, Zone.name).outerjoin(Zone, Zone.id == Report.zone_id)
    if scope.zone_ids is not None:
        query = query.where(Report.zone_id.in_(scope.zone_ids))
    if request.args.get("status"):
        query = query.where(Report.status == request.args["status"])
    if request.args.get("category"):
        query = query.where(Report.category == request.args["category"])
    after = request.args.get("after_id", type=int) or 0
    rows = _db().execute(query.where(Report.id > after).order_by(Report.id).limit(PAGE)).all()
    counts = dict(
        _db()
        .execute(
            select(ReportSupporter.report_id, func.count())
            .where(ReportSupporter.report_id.in_([r.id for r, _ in rows]))
            .group_by(ReportSupporter.report_id)
        )
        .tuples()
        .all()
    )
    return jsonify(
        {
            "reports": [_report_json(r, counts.get(r.id, 0), zone) for r, zone in rows],
            "next_after_id": rows[-1][0].id if len(rows) == PAGE else None,
        }
    )


@bp.post("/reports/<code>/status")
@authenticated(writes=True)
def update_report(code: str) -> Any:
    found = _db().scalars(select(Report).where(Report.code == code.upper())).one_or_none()
    if found is None:
        abort(404, f"no report {code}")
    if not _scope().reaches(found.zone_id):
        abort(403, "this report is outside your scope")
    data = _body()
    try:
        told = actions.change_report_status(
            _db(),
            _state().config,
            found,
            str(data.get("status") or ""),
            str(data["note"]) if data.get("note") else None,
            user=_user(),
            via="api",
        )
    except actions.Refused as exc:
        _db().rollback()
        abort(422, str(exc))
    zone = found.zone.name if found.zone else None
    return jsonify({**_report_json(found, 0, zone), "told": told})


# -- polls --------------------------------------------------------------------------------------


def _poll(poll_id: int) -> Poll:
    found = _db().get(Poll, poll_id)
    if found is None:
        abort(404, f"no poll {poll_id}")
    if not _scope().allows(actions.poll_target(found)):
        abort(403, "this poll is outside your scope")
    return found


def _poll_json(poll: Poll, votes: int) -> dict[str, Any]:
    return {
        "id": poll.id,
        "target": poll.target,
        "question_es": poll.question_es,
        "question_ay": poll.question_ay,
        "options": [
            {"position": o.position, "es": o.label_es, "ay": o.label_ay} for o in poll.options
        ],
        "open": poll.is_open(utcnow()),
        "created_at": aware(poll.created_at).isoformat(),
        "closes_at": aware(poll.closes_at).isoformat() if poll.closes_at else None,
        "votes": votes,
    }


def _options(raw: Any) -> list[tuple[str, str]]:
    """Options as "es|ay" strings, {"es": ..., "ay": ...} objects or [es, ay] pairs."""
    if not isinstance(raw, list):
        abort(400, 'options: a list, e.g. ["Sí|Jisa", "No|Janiwa"] or [{"es": "Sí", "ay": "Jisa"}]')
    found = []
    for n, option in enumerate(raw, 1):
        if isinstance(option, str):
            try:
                found.append(actions.parse_option(option))
            except actions.Refused as exc:
                abort(400, f"options[{n}]: {exc}")
            continue
        if isinstance(option, dict):
            es, ay = option.get("es"), option.get("ay")
        elif isinstance(option, list) and len(option) == 2:
            es, ay = option
        else:
            es = ay = None
        if not isinstance(es, str) or not es.strip() or not isinstance(ay, str | None):
            abort(400, f'options[{n}]: give the Spanish label, e.g. {{"es": "Sí", "ay": "Jisa"}}')
        found.append((es.strip(), (ay or es).strip()))
    return found


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        abort(400, f"{key}: a non-empty text is needed")
    return value


@bp.get("/polls")
@authenticated()
def list_polls() -> Any:
    """The latest polls addressed inside the token's scope (?limit=, at most 100)."""
    limit = min(max(request.args.get("limit", type=int) or PAGE, 1), PAGE)
    rows = poll_store.polls_within(_db(), _scope().zone_ids, limit=limit)
    votes = poll_store.votes_per_poll(_db(), [p.id for p in rows])
    return jsonify({"polls": [_poll_json(p, votes.get(p.id, 0)) for p in rows]})


@bp.post("/polls")
@authenticated(writes=True)
def create_poll() -> Any:
    data = _body()
    try:
        target = targets.resolve(_db(), str(data.get("target") or ""))
    except ValueError as exc:
        abort(400, f"target: {exc}")
    if not _scope().allows(target):
        abort(403, "this target is outside your scope")
    question_es, question_ay = _text(data, "question_es"), _text(data, "question_ay")
    options = _options(data.get("options"))
    closes_at = None
    if data.get("closes_at"):
        try:
            closes_at = datetime.fromisoformat(str(data["closes_at"]))
        except ValueError:
            abort(400, "closes_at: use ISO-8601, e.g. 2026-12-24T18:00 (La Paz time)")
        closes_at = closes_at if closes_at.tzinfo else closes_at.replace(tzinfo=LA_PAZ)
    try:
        created = actions.create_poll(
            _db(),
            target=target,
            question_es=question_es,
            question_ay=question_ay,
            options=options,
            closes_at=closes_at,
            user=_user(),
            via="api",
        )
    except actions.Refused as exc:
        _db().rollback()
        abort(400, str(exc))
    response = jsonify(
        {**_poll_json(created, 0), "question_segments": actions.question_segments(created)}
    )
    response.status_code = 201
    return response


@bp.get("/polls/<int:poll_id>")
@authenticated()
def poll_results(poll_id: int) -> Any:
    """The poll with its results: votes per option, turnout, and the same zona by zona (a
    voter counts where they live now; "zone": null is everyone now outside the poll's zonas)."""
    found = _poll(poll_id)
    results = poll_store.results(_db(), found)
    by_zone = poll_store.results_by_zone(_db(), found)
    names = dict(_db().execute(select(Zone.id, Zone.name)).tuples().all())
    positions = {o.id: o.position for o in found.options}
    return jsonify(
        {
            **_poll_json(found, results.votes),
            "counts": {str(o.position): n for o, n in results.counts},
            "eligible": results.eligible,
            "turnout": round(results.turnout, 4),
            "by_zone": [
                {
                    "zone": names.get(z.zone_id) if z.zone_id is not None else None,
                    "votes": z.votes,
                    "eligible": z.eligible,
                    "turnout": round(z.turnout, 4),
                    "counts": {
                        str(positions[option_id]): n
                        for option_id, n in sorted(z.counts.items(), key=lambda c: positions[c[0]])
                    },
                }
                for z in by_zone
            ],
            "invitations": list(
                _db().scalars(
                    select(Broadcast.id).where(Broadcast.poll_id == found.id).order_by(Broadcast.id)
                )
            ),
        }
    )


@bp.post("/polls/<int:poll_id>/invite")
@authenticated(writes=True)
def invite_to_poll(poll_id: int) -> Any:
    """Text the poll to its residents (once per poll); {"urgent": true} ignores quiet hours."""
    found = _poll(poll_id)
    data = request.get_json(silent=True) if request.data else {}
    if not isinstance(data, dict):
        abort(400, "send a JSON object (or nothing)")
    try:
        invitation = actions.invite_to_poll(
            _db(),
            _state().config,
            found,
            urgent=bool(data.get("urgent")),
            user=_user(),
            via="api",
        )
    except ValueError as exc:
        _db().rollback()
        abort(409, str(exc))
    response = jsonify(store.broadcast_summary(_db(), invitation))
    response.status_code = 201
    return response


@bp.post("/polls/<int:poll_id>/close")
@authenticated(writes=True)
def close_poll(poll_id: int) -> Any:
    found = _poll(poll_id)
    try:
        canceled = actions.close_poll(_db(), found, user=_user(), via="api")
    except actions.Refused as exc:
        _db().rollback()
        abort(409, str(exc))
    votes = poll_store.votes_per_poll(_db(), [found.id]).get(found.id, 0)
    return jsonify({**_poll_json(found, votes), "invitations_canceled": canceled})


# -- stats --------------------------------------------------------------------------------------


@bp.get("/stats")
@authenticated()
def stats() -> Any:
    session = _db()
    counts = audience.signed_up_by_zone(session, _scope().zone_ids)
    zones = session.execute(select(Zone.id, Zone.name).order_by(Zone.name)).tuples()
    by_zone = {name: counts[zone_id] for zone_id, name in zones if zone_id in counts}
    return jsonify({"residents": sum(by_zone.values()), "residents_by_zone": by_zone})


# -- evidence -----------------------------------------------------------------------------------


@bp.get("/evidence")
@authenticated()
def evidence() -> Any:
    """The measures for a place in scope (?zona=, ?macro=; by default the user's own) beside
    the city's, over ?from=&to= (La Paz dates), with a series per ?step=week|month."""
    session = _db()
    try:
        first, last = date_range(request.args.get("from"), request.args.get("to"))
    except ValueError as exc:
        abort(400, f"from/to: {exc} (dates like 2026-11-30)")
    step = request.args.get("step", "week")
    if step not in STEPS:
        abort(400, "step is week or month")
    try:
        where = place_for(
            session, _scope(), macro=request.args.get("macro"), zone=request.args.get("zona")
        )
    except UnknownPlace as exc:
        abort(404, f"no such place: {exc}")
    except OutOfScope:
        abort(403, "this place is outside your scope")
    start, end = local_midnight(first), local_midnight(last + timedelta(days=1))
    return jsonify(
        {
            "from": first.isoformat(),
            "to": last.isoformat(),
            "place": memo.measures(session, where, start, end),
            "city": memo.measures(session, CITY, start, end),
            "series": memo.series(session, where, first, last, step),
        }
    )
