"""The staff console under /admin/: server-rendered pages, Flask-Login sessions, CSRF on forms."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import Blueprint, Flask, Request
from flask.sessions import SecureCookieSessionInterface, SessionInterface, SessionMixin
from flask_wtf.csrf import CSRFProtect

from bot.admin import (
    auth,
    broadcasts,
    courses,
    evidence,
    home,
    info,
    mapping,
    news,
    offers,
    polls,
    reports,
    trail,
    translations,
    vendor,
)
from bot.admin.common import bp
from bot.config import Config
from bot.i18n import console
from storage.broadcasts import LA_PAZ
from storage.models import aware

csrf = CSRFProtect()

__all__ = [
    "auth",
    "broadcasts",
    "courses",
    "evidence",
    "home",
    "info",
    "mapping",
    "news",
    "offers",
    "polls",
    "reports",
    "trail",
    "translations",
    "vendor",
    "register",
]


def register(app: Flask, config: Config, *, exempt: tuple[Blueprint, ...] = ()) -> None:
    """Mount the console: cookies, CSRF, logins, the blueprint. `exempt`: blueprints that
    authenticate otherwise (Twilio's signature, API tokens) and so take no CSRF token."""
    app.config.update(
        SESSION_COOKIE_NAME="mibarrio_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=config.cookie_secure,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=8),
        WTF_CSRF_TIME_LIMIT=None,  # the session's own limits apply
    )
    app.session_interface = _StaffSessions()
    csrf.init_app(app)
    for blueprint in exempt:
        csrf.exempt(blueprint)
    auth.login_manager.init_app(app)
    app.add_template_filter(la_paz, "lapaz")
    # Console texts go through _() / {% trans %}: their catalog is the "console" domain.
    app.jinja_env.add_extension("jinja2.ext.i18n")
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=console.gettext, ngettext=console.ngettext, newstyle=True
    )
    app.register_blueprint(bp)


def la_paz(moment: datetime | str | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored UTC time as staff read it: La Paz time."""
    if moment is None or moment == "":
        return ""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return aware(moment).astimezone(LA_PAZ).strftime(fmt)


class _StaffSessions(SessionInterface):
    """Signed-cookie sessions for the console; none for Twilio's webhooks and the API, which
    send no cookies (opening one per webhook would cost every text a little)."""

    _cookies = SecureCookieSessionInterface()

    def _staff(self, request: Request) -> bool:
        return request.path.startswith("/admin")

    def open_session(self, app: Flask, request: Request) -> SessionMixin | None:
        if not self._staff(request):
            return self.make_null_session(app)
        return self._cookies.open_session(app, request)

    def save_session(self, app: Flask, session: SessionMixin, response: object) -> None:
        if session.__class__ is self.null_session_class:
            return None
        self._cookies.save_session(app, session, response)  # type: ignore[arg-type]
