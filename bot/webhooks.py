"""Twilio's webhooks: verify the signature, dedupe on MessageSid, one transaction, TwiML back."""

from __future__ import annotations

import functools
import hmac
import logging
import math
import re
from typing import Any
from urllib.parse import urlparse

from flask import Blueprint, Response, abort, current_app, jsonify, request
from sqlalchemy import text
from twilio.request_validator import RequestValidator, add_port, remove_port
from twilio.twiml.messaging_response import MessagingResponse

from bot import channels
from bot.app_state import AppState
from bot.config import Config
from bot.engine import InboundMessage
from bot.inbound import answer_without_number, receive
from storage import statuses
from storage.db import retry_on_disconnect

log = logging.getLogger(__name__)

bp = Blueprint("twilio", __name__)

MAX_MEDIA = 10
# Twilio's message SIDs are 34 characters; the column holds 64. Longer is not a message id.
MAX_SID = 64
# What Twilio sends in From for a WhatsApp user who hides their number behind a username: a
# business-scoped user id, a country code and a dot before it ("whatsapp:US.1349120865530274").
WHATSAPP_USER_ID = re.compile(r"whatsapp:[A-Z]{2}\.[0-9A-Za-z]+", re.IGNORECASE)
# Twilio's error codes are five digits; the column is a 32-bit integer on PostgreSQL.
MAX_ERROR_CODE = 2**31 - 1


def _state() -> AppState:
    return current_app.extensions["mibarrio"]  # type: ignore[no-any-return]


def signed_url(config: Config) -> str:
    """The URL Twilio signed: PUBLIC_URL + path behind a proxy, else the URL as received."""
    if config.public_url:
        query = request.query_string.decode("latin-1")
        return config.public_url + request.path + (f"?{query}" if query else "")
    return request.url


def _verify_signature() -> None:
    config = _state().config
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature or not signature_ok(
        _validator(config.twilio_auth_token), signed_url(config), request.form, signature
    ):
        log.warning("rejected request with a bad signature from %s", request.remote_addr)
        abort(Response("invalid Twilio signature\n", status=403, mimetype="text/plain"))


@functools.lru_cache(maxsize=4)
def _validator(token: str) -> RequestValidator:
    return RequestValidator(token)


def signature_ok(validator: RequestValidator, url: str, params: Any, signature: str) -> bool:
    """RequestValidator.validate's check for a form post, one HMAC in the usual case.

    Twilio signs the URL as it was configured, which may or may not spell out the scheme's
    default port, so, like the library, both forms are accepted: the URL as it is first,
    the other form only when that fails.
    """
    parsed = urlparse(url)
    other = remove_port(parsed) if parsed.port else add_port(parsed)
    expected = signature.encode("utf-8", "replace")
    for candidate in dict.fromkeys((url, other)):
        computed = validator.compute_signature(candidate, params).encode("ascii")
        if hmac.compare_digest(computed, expected):
            return True
    return False


def _bad_request(reason: str) -> Response:
    return Response(reason + "\n", status=400, mimetype="text/plain")


def twiml(replies: list[str] | None) -> Response:
    return Response(_twiml_text(tuple(replies or ())), mimetype="text/xml")


@functools.lru_cache(maxsize=1024)
def _twiml_text(replies: tuple[str, ...]) -> str:
    """The TwiML for a set of replies: most texts are the same few menus, so it is kept."""
    resp = MessagingResponse()
    for body in replies:
        if body:
            resp.message(body)
    return str(resp)


def _float(value: str | None) -> float | None:
    try:
        number = float(value) if value not in (None, "") else None
    except ValueError:
        return None
    return number if number is not None and math.isfinite(number) else None


def _required(*names: str) -> Response | None:
    """A 400 naming what is missing or unusable, or None when the form has it all.

    Blank counts as missing (a blank MessageSid would be deduped into someone else's reply),
    and a MessageSid must be printable (PostgreSQL cannot even look up a NUL).
    """
    form = request.form
    missing = [name for name in names if not form.get(name, "").strip()]
    if missing:
        return _bad_request("missing required field(s): " + ", ".join(missing))
    sid = form["MessageSid"].strip()
    if not sid.isprintable() or len(sid) > MAX_SID:
        return _bad_request("MessageSid is not a message id")
    return None


def _error_code(value: str | None) -> int | None:
    """Twilio's ErrorCode, or None when there is none or it is no error code of Twilio's."""
    try:
        code = int(value) if value else None
    except ValueError:
        return None
    return code if code is not None and 0 <= code <= MAX_ERROR_CODE else None


@bp.post("/twilio/inbound")
def inbound() -> Response:
    _verify_signature()
    form = request.form
    bad = _required("MessageSid", "From", "To")
    if bad is not None:
        return bad
    sid = form["MessageSid"].strip()
    try:
        phone, channel = channels.parse_address(form["From"])
    except ValueError as exc:
        if WHATSAPP_USER_ID.fullmatch(form["From"].strip()):
            # A WhatsApp username instead of a number: answered, not refused.
            body = form.get("Body", "")
            return twiml(answer_without_number(_state().sessions, sid, "whatsapp", body))
        return _bad_request(f"From is not a phone number: {exc}")
    try:
        num_media = max(0, min(int(form.get("NumMedia") or 0), MAX_MEDIA))
    except ValueError:
        num_media = 0
    msg = InboundMessage(
        phone=phone,
        channel=channel,
        body=form.get("Body", ""),
        media=[form[f"MediaUrl{i}"] for i in range(num_media) if form.get(f"MediaUrl{i}")],
        latitude=_float(form.get("Latitude")),
        longitude=_float(form.get("Longitude")),
        address=(form.get("Address") or None),
    )
    state = _state()
    replies = receive(state.sessions, sid, msg, state.turn_settings)
    return twiml(replies)


@bp.post("/twilio/status")
def status() -> Response:
    _verify_signature()
    form = request.form
    bad = _required("MessageSid", "MessageStatus")
    if bad is not None:
        return bad
    sid, status_value = form["MessageSid"], form["MessageStatus"]
    error_code = _error_code(form.get("ErrorCode"))
    sessions = _state().sessions

    def apply() -> None:
        with sessions() as session, session.begin():
            statuses.apply_status(session, sid.strip(), status_value, error_code)

    retry_on_disconnect(apply)
    return Response("", status=200)


@bp.get("/healthz")
def healthz() -> Response:
    state = _state()
    checks: dict[str, str] = {}
    try:
        with state.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - health reports, never raises
        checks["database"] = f"error: {exc.__class__.__name__}"
    checks["redis"] = state.redis_health()
    ok = checks["database"] == "ok" and checks["redis"] in ("ok", "not configured")
    return jsonify(status="ok" if ok else "degraded", **checks)
