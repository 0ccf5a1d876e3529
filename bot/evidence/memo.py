"""Evidence figures remembered until the rollups change.

Figures read from the rollups change only when the worker refreshes them (at most once a
minute), so a page asked again before that gets what it computed the first time, keyed by
the refresh's moment and the question. Before the rollups are built nothing is remembered
(figures come from the event tables, which change with every text).

Per process, the latest LIMIT questions; every caller gets its own copy. The console's
Evidencia page and /api/v1/evidence ask through the functions at the end.
"""

from __future__ import annotations

import copy
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from datetime import date, datetime
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from bot.evidence import compare
from bot.evidence import measures as figures
from bot.evidence.measures import Place
from storage import rollups

T = TypeVar("T")
LIMIT = 256

_remembered: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
_lock = threading.Lock()


def remembered(session: Session, question: tuple[Hashable, ...], compute: Callable[[], T]) -> T:
    """compute(), or what it gave for the same question since the rollups' last refresh."""
    stamp = rollups.built_at(session)
    if stamp is None:
        return compute()
    key = (str(session.get_bind().engine.url), stamp, *question)
    with _lock:
        if key in _remembered:
            _remembered.move_to_end(key)
            return copy.deepcopy(_remembered[key])  # type: ignore[no-any-return]
    value = compute()
    with _lock:
        _remembered[key] = copy.deepcopy(value)
        while len(_remembered) > LIMIT:
            _remembered.popitem(last=False)
    return value


def forget() -> None:
    with _lock:
        _remembered.clear()


def measures(session: Session, where: Place, start: datetime, end: datetime) -> dict[str, Any]:
    return remembered(
        session,
        ("measures", where, start, end),
        lambda: figures.measures(session, where, start, end),
    )


def series(session: Session, where: Place, first: date, last: date, step: str) -> list[Any]:
    return remembered(
        session,
        ("series", where, first, last, step),
        lambda: figures.series(session, where, first, last, step),
    )


def terciles(session: Session, start: datetime, end: datetime, within: Place) -> dict[str, Any]:
    return remembered(
        session,
        ("terciles", within, start, end),
        lambda: compare.terciles(session, start, end, within),
    )


def before_after(session: Session, where: Place, moment: date, days: int) -> dict[str, Any]:
    return remembered(
        session,
        ("before_after", where, moment, days),
        lambda: compare.before_after(session, where, moment, days),
    )
