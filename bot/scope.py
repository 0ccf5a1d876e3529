"""What a staff user may see and reach: one function decides it for the console and the API."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import targets
from storage.enums import StaffRole
from storage.models import Macrodistrict, StaffUser, Zone


@dataclass(frozen=True)
class Scope:
    """zone_ids None means the whole city."""

    role: StaffRole
    zone_ids: frozenset[int] | None
    macrodistrict_id: int | None = None

    @property
    def citywide(self) -> bool:
        return self.zone_ids is None

    @property
    def writes(self) -> bool:
        """May change things (send, change statuses); viewers and translators only read."""
        return self.role in (StaffRole.MUNICIPALITY, StaffRole.SUBALCALDIA, StaffRole.LEADER)

    @property
    def sees_residents(self) -> bool:
        """Reports, broadcasts and participation; a translator works on texts only."""
        return self.role != StaffRole.TRANSLATOR

    @property
    def sees_phones(self) -> bool:
        return self.role == StaffRole.MUNICIPALITY

    @property
    def translates(self) -> bool:
        return self.role in (StaffRole.MUNICIPALITY, StaffRole.TRANSLATOR)

    def reaches(self, zone_id: int | None) -> bool:
        """A row of this zona is in scope (a row without zona only for the whole city)."""
        if self.zone_ids is None:
            return True
        return zone_id is not None and zone_id in self.zone_ids

    def keeps(self, zone_id: int | None, macrodistrict_id: int | None) -> bool:
        """May edit zona information of this place: a zona in scope; a macrodistrito's items
        for the city and its subalcaldía; the city's own items for the city only."""
        if zone_id is not None:
            return self.reaches(zone_id)
        if self.zone_ids is None:
            return True
        return (
            self.role == StaffRole.SUBALCALDIA
            and macrodistrict_id is not None
            and macrodistrict_id == self.macrodistrict_id
        )

    def allows(self, target: targets.Target) -> bool:
        """A broadcast or poll to this target stays inside the scope."""
        if self.zone_ids is None:
            return True
        return not target.citywide and bool(target.zone_ids) and target.zone_ids <= self.zone_ids


def scope_of(session: Session, user: StaffUser) -> Scope:
    role = StaffRole(user.role)
    if role == StaffRole.SUBALCALDIA:
        ids = session.scalars(select(Zone.id).where(Zone.macrodistrict_id == user.macrodistrict_id))
        return Scope(role, frozenset(ids), user.macrodistrict_id)
    if role == StaffRole.LEADER:
        return Scope(role, frozenset([user.zone_id]) if user.zone_id else frozenset())
    return Scope(role, None)


def reachable_zones(session: Session, scope: Scope) -> list[Zone]:
    """The zonas a user may pick, by name."""
    query = select(Zone).order_by(Zone.name)
    if scope.zone_ids is not None:
        query = query.where(Zone.id.in_(scope.zone_ids))
    return list(session.scalars(query))


def reachable_macrodistricts(session: Session, scope: Scope) -> list[Macrodistrict]:
    query = select(Macrodistrict).order_by(Macrodistrict.name)
    if scope.role == StaffRole.SUBALCALDIA:
        query = query.where(Macrodistrict.id == scope.macrodistrict_id)
    elif scope.zone_ids is not None:
        return []
    return list(session.scalars(query))


def mask_phone(phone: str | None, scope: Scope) -> str:
    """+59171234567 -> +591•••••567 for everyone but municipality staff."""
    if not phone:
        return ""
    if scope.sees_phones:
        return phone
    return phone[:4] + "•" * max(len(phone) - 7, 0) + phone[-3:]
