"""Signing in: argon2 passwords, a lockout after repeated failures, an idle timeout."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, session, url_for
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from bot.admin.common import bp, reading, writing
from bot.i18n.console import gettext as _
from bot.i18n.console import gettext_noop
from bot.i18n.console import lazy_gettext as _l
from bot.passwords import check_password
from bot.scope import Scope, scope_of
from storage import audit, staff
from storage.models import StaffUser

IDLE_SECONDS = 30 * 60  # signed out after half an hour without a request

login_manager = LoginManager()
login_manager.login_view = "admin.login"
login_manager.login_message = gettext_noop("Inicie sesión para continuar.")
login_manager.localize_callback = _


class SignedIn(UserMixin):
    """The user of this request, with their scope worked out once."""

    def __init__(self, user: StaffUser, scope: Scope) -> None:
        self.id = str(user.id)
        self.email = user.email
        self.role = user.role
        self.scope = scope


@login_manager.user_loader
def load_user(user_id: str) -> SignedIn | None:
    with reading() as db:
        user = staff.get_user(db, int(user_id)) if user_id.isdigit() else None
        if user is None or user.disabled_at is not None:
            return None  # disabled since signing in: out at the next request
        return SignedIn(user, scope_of(db, user))


@bp.before_app_request
def idle_timeout() -> Any:
    """Out after IDLE_SECONDS without a request of the user's own: a page refreshing itself
    (htmx's HX-Request) is no activity. A live part asked for without a session reloads the
    whole page, which then goes to the login form, instead of showing the form inside it."""
    if not request.path.startswith("/admin"):
        return None
    live = request.headers.get("HX-Request") == "true"
    if not current_user.is_authenticated:
        return _reload() if live else None
    now = time.time()
    if now - float(session.get("seen", now)) > IDLE_SECONDS:
        logout_user()
        session.clear()
        flash(_("Su sesión se cerró tras 30 minutos sin actividad."))
        return _reload() if live else redirect(url_for("admin.login"))
    if not live:
        session["seen"] = now
    return None


def _reload() -> Any:
    return "", 200, {"HX-Refresh": "true"}


class LoginForm(FlaskForm):
    email = EmailField(_l("Correo electrónico"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Contraseña"), validators=[DataRequired(), Length(max=1024)])


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        email = staff.normalize_email(form.email.data or "")
        with writing() as db:
            user = staff.find_user(db, email)
            ok = check_password(user.password_hash if user else None, form.password.data or "")
            if user is not None and (user.disabled_at is not None or staff.locked(user)):
                ok = False
                error = (
                    _(
                        "Cuenta bloqueada temporalmente por intentos fallidos. "
                        "Intente en 15 minutos."
                    )
                    if staff.locked(user)
                    else _("Correo o contraseña incorrectos.")
                )
            elif user is not None:
                staff.record_login(db, user, ok)
                audit.record(db, user, "web", "login" if ok else "login.failed", "user", email)
            signed = SignedIn(user, scope_of(db, user)) if ok and user else None
        if signed is not None:
            session.clear()
            login_user(signed)
            session["seen"] = time.time()
            return redirect(_safe_next(request.args.get("next")))
        error = error or _("Correo o contraseña incorrectos.")
    return render_template("admin/login.html", form=form, error=error), 401 if error else 200


@bp.route("/logout", methods=["POST"])
def logout() -> Any:
    logout_user()
    session.clear()
    return redirect(url_for("admin.login"))


def _safe_next(target: str | None) -> str:
    """Only a path on this site: an open redirect would send staff to a look-alike login."""
    if target and target.startswith("/admin") and not urlsplit(target).netloc:
        return target
    return url_for("admin.home")
