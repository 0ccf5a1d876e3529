"""Evidence figures remembered until the rollups change.

Figures read from the rollups change only when the worker refreshes them (at most once a
minute), so a question asked again before that gets what was computed the first time, keyed
by the refresh's moment and the question:

- in the process, the latest LIMIT questions (every caller gets its own copy);
- in the database (evidence_views), the views most asked for: the default period for the
  city and each macrodistrito, which the evidence worker computes in the same transaction as
  the refresh (warm), so even the first view after a refresh reads them.

Before the rollups are built nothing is remembered (figures come from the event tables,
which change with every text). The console's Evidencia page and /api/v1/evidence ask through
the functions at the end.
"""

from __future__ import annotations

import copy
import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import delete
from sqlalchemy.orm import Session

from bot.evidence import compare
from bot.evidence import measures as figures
from bot.evidence.measures import CITY, Place, date_range
from storage import rollups
from storage.models import EvidenceView, aware
from storage.zones import macrodistricts

T = TypeVar("T")
LIMIT = 256

_remembered: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
_lock = threading.Lock()


def _digest(question: tuple[Hashable, ...]) -> str:
    return hashlib.sha256(repr(question).encode()).hexdigest()


def _stored(session: Session, question: tuple[Hashable, ...], stamp: datetime) -> Any:
    row = session.get(EvidenceView, _digest(question))
    if row is None or aware(row.built_at) != stamp:
        return None
    return json.loads(row.payload)


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
    value = _stored(session, question, stamp)
    if value is None:
        value = compute()
    with _lock:
        _remembered[key] = copy.deepcopy(value)
        while len(_remembered) > LIMIT:
            _remembered.popitem(last=False)
    return value  # type: ignore[no-any-return]


def forget() -> None:
    with _lock:
        _remembered.clear()


def warm(session: Session, today: date | None = None) -> int:
    """Compute the views most asked for from the rollups as they are in this session (call it
    in the refresh's transaction) and keep them in evidence_views; how many were kept.

    The default period (date_range's) for the city and each macrodistrito: their place and
    city figures, weekly series and zona comparison, the slow part of a first view."""
    stamp = rollups.built_at(session)
    if stamp is None:
        return 0
    first, last = date_range(None, None) if today is None else date_range(None, today.isoformat())
    start, end = figures.local_midnight(first), figures.local_midnight(last + timedelta(days=1))
    places = [CITY] + [figures.place(session, macro=m.name) for m in macrodistricts(session)]
    asked: list[tuple[tuple[Hashable, ...], Callable[[], Any]]] = []
    for where in places:
        asked += [
            (_measures_q(where, start, end), _measures(session, where, start, end)),
            (_series_q(where, first, last, "week"), _series(session, where, first, last, "week")),
            (_terciles_q(where, start, end), _terciles(session, start, end, where)),
        ]
    session.execute(delete(EvidenceView))
    kept = 0
    for question, compute in asked:
        value = compute()
        payload = json.dumps(value)
        if json.loads(payload) != value:
            continue  # not plain JSON (a date, a tuple): computed on view instead
        session.add(EvidenceView(question=_digest(question), built_at=stamp, payload=payload))
        kept += 1
    session.flush()
    return kept


# -- the questions ------------------------------------------------------------------------


def _measures_q(where: Place, start: datetime, end: datetime) -> tuple[Hashable, ...]:
    return ("measures", where, start, end)


def _series_q(where: Place, first: date, last: date, step: str) -> tuple[Hashable, ...]:
    return ("series", where, first, last, step)


def _terciles_q(where: Place, start: datetime, end: datetime) -> tuple[Hashable, ...]:
    return ("terciles", where, start, end)


def _measures(session: Session, where: Place, start: datetime, end: datetime) -> Callable[[], Any]:
    return lambda: figures.measures(session, where, start, end)


def _series(
    session: Session, where: Place, first: date, last: date, step: str
) -> Callable[[], Any]:
    return lambda: figures.series(session, where, first, last, step)


def _terciles(session: Session, start: datetime, end: datetime, within: Place) -> Callable[[], Any]:
    return lambda: compare.terciles(session, start, end, within)


def measures(session: Session, where: Place, start: datetime, end: datetime) -> dict[str, Any]:
    return remembered(  # type: ignore[no-any-return]
        session, _measures_q(where, start, end), _measures(session, where, start, end)
    )


def series(session: Session, where: Place, first: date, last: date, step: str) -> list[Any]:
    return remembered(  # type: ignore[no-any-return]
        session, _series_q(where, first, last, step), _series(session, where, first, last, step)
    )


def terciles(session: Session, start: datetime, end: datetime, within: Place) -> dict[str, Any]:
    return remembered(  # type: ignore[no-any-return]
        session, _terciles_q(within, start, end), _terciles(session, start, end, within)
    )


def before_after(session: Session, where: Place, moment: date, days: int) -> dict[str, Any]:
    return remembered(
        session,
        ("before_after", where, moment, days),
        lambda: compare.before_after(session, where, moment, days),
    )
