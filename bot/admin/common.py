"""What every console view shares: the blueprint, the database, the signed-in user's scope."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import Blueprint, abort, current_app, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import Select, func, select
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


# Rows per page of a console list.
PER_PAGE = 50


@dataclass(frozen=True)
class Pages:
    """Where a paged list is: page `number` of `count`, `total` rows in all, `per_page` a page."""

    number: int
    count: int
    total: int
    per_page: int = PER_PAGE

    @property
    def offset(self) -> int:
        """Rows before this page."""
        return (self.number - 1) * self.per_page

    def url(self, number: int) -> str:
        """This page's address with another page number, its filters kept."""
        args = {**request.args.to_dict(), **(request.view_args or {}), "pagina": number}
        return url_for(str(request.endpoint), **args)

    def numbers(self, around: int = 3) -> list[int]:
        """The page numbers to link: the first, the last and those near this one."""
        near = range(max(1, self.number - around), min(self.count, self.number + around) + 1)
        return sorted({1, self.count, *near})


def page_of(total: int, per_page: int = PER_PAGE) -> Pages:
    """The page asked for (?pagina=N) of a list of `total` rows, kept within range."""
    count = max(1, math.ceil(total / per_page))
    number = min(max(request.args.get("pagina", 1, type=int) or 1, 1), count)
    return Pages(number, count, total, per_page)


def paged(db: Session, query: Select[Any], per_page: int = PER_PAGE) -> tuple[list[Any], Pages]:
    """The rows of the page asked for (?pagina=N, kept within range) of an ordered query of one
    entity: one count and one page read from the database."""
    total = int(db.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0)
    pages = page_of(total, per_page)
    rows = list(db.scalars(query.limit(per_page).offset(pages.offset)))
    return rows, pages
