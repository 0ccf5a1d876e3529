"""Zonas and macrodistritos, as residents pick them and staff target them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Macrodistrict, Zone


def all_zones(session: Session) -> list[Zone]:
    return list(session.scalars(select(Zone).order_by(Zone.name)))


def macrodistricts(session: Session) -> list[Macrodistrict]:
    return list(session.scalars(select(Macrodistrict).order_by(Macrodistrict.position)))


def zones_in(session: Session, macrodistrict_id: int) -> list[Zone]:
    return list(
        session.scalars(
            select(Zone).where(Zone.macrodistrict_id == macrodistrict_id).order_by(Zone.name)
        )
    )


def get_zone(session: Session, zone_id: int | None) -> Zone | None:
    return session.get(Zone, zone_id) if zone_id is not None else None


def get_macrodistrict(session: Session, macro_id: int | None) -> Macrodistrict | None:
    return session.get(Macrodistrict, macro_id) if macro_id is not None else None
