"""Which place a staff user's evidence is about: their own, or one inside their scope.

One decision for the console and the API: a leader sees their zona, a subalcaldía their
macrodistrito (or a zona in it), city-wide roles anything; everyone sees the city beside it.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy.orm import Session

from bot.evidence.measures import CITY, Place, UnknownPlace, place, zone_place
from bot.scope import Scope
from storage import zones as zone_store


class OutOfScope(PermissionError):
    pass


def place_for(
    session: Session, scope: Scope, *, macro: str | None = None, zone: str | None = None
) -> Place:
    """The place asked for (by name), or the user's own when none is; OutOfScope or
    UnknownPlace when it cannot be shown."""
    if macro or zone:
        found = place(session, macro=macro or None, zone=zone or None)
        if scope.zone_ids is not None and not set(found.zone_ids or ()) <= scope.zone_ids:
            raise OutOfScope(found.name)
        return found
    if scope.zone_ids is None:
        return CITY
    if scope.macrodistrict_id is not None:
        macro_row = zone_store.get_macrodistrict(session, scope.macrodistrict_id)
        if macro_row is None:
            raise UnknownPlace(str(scope.macrodistrict_id))
        return place(session, macro=macro_row.name)
    if len(scope.zone_ids) == 1:
        return zone_place(session, next(iter(scope.zone_ids)))
    raise OutOfScope("no zona")


def date_range(first: str | None, last: str | None, *, weeks: int = 12) -> tuple[date, date]:
    """ISO dates from a query string; by default the last `weeks` weeks up to today."""
    end = date.fromisoformat(last) if last else date.today()
    start = date.fromisoformat(first) if first else end - timedelta(weeks=weeks, days=-1)
    if start > end:
        raise ValueError("from is after to")
    if (end - start).days > 731:
        raise ValueError("at most two years at a time")
    return start, end
