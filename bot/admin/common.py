"""What every console view shares: the blueprint, the database, the signed-in user's scope."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from flask import Blueprint, abort, current_app
from flask_login import current_user, login_required
from sqlalchemy.orm import Session

from bot.app_state import AppState
from bot.scope import Scope
from storage.models import StaffUser

bp = Blueprint(
    "admin", __name__, url_prefix="/admin", template_folder="templates", static_folder="static"
)

F = TypeVar("F", bound=Callable[..., Any])


def state() -> AppState:
    found: AppState = current_app.extensions["mibarrio"]
    return found


@contextmanager
def reading() -> Iterator[Session]:
    with state().sessions() as session:
        yield session


@contextmanager
def writing() -> Iterator[Session]:
    """One transaction: the change and its audit entry commit together."""
    with state().sessions() as session, session.begin():
        yield session


def scope() -> Scope:
    found: Scope = current_user.scope
    return found


def me(session: Session) -> StaffUser:
    user = session.get(StaffUser, int(current_user.get_id()))
    if user is None:
        abort(403)
    return user


def staff_page(*, writes: bool = False, residents: bool = True) -> Callable[[F], F]:
    """Signed in, and the role may do this (checked on the server for every route)."""

    def wrap(view: F) -> F:
        @functools.wraps(view)
        @login_required
        def checked(*args: Any, **kwargs: Any) -> Any:
            current = scope()
            if residents and not current.sees_residents:
                abort(403)
            if writes and not current.writes:
                abort(403)
            return view(*args, **kwargs)

        return checked  # type: ignore[return-value]

    return wrap
