"""Which place a staff user's evidence is about: their own, or one inside their scope.

One decision for the console and the API: a leader sees their zona, a subalcaldía their
macrodistrito (or a zona in it), city-wide roles anything; everyone sees the city beside it.
"""

from __future__ import annotations

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
