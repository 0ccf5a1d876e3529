"""Who a poll, news item or broadcast is for: "all", "zona:NAME", "macro:NAME", comma-separated."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.text import normalize
from storage.models import Macrodistrict, Zone


@dataclass(frozen=True)
class Target:
    spec: str  # canonical, e.g. "zona:Sopocachi,macro:Centro"
    citywide: bool
    zone_ids: frozenset[int]


def resolve(session: Session, spec: str) -> Target:
    """Resolve a target spec; unknown names raise ValueError naming them."""
    parts = [p.strip() for p in spec.split(",") if p.strip()]
    if not parts:
        raise ValueError("empty target: use all, zona:NAME or macro:NAME")
    zones = list(session.scalars(select(Zone)))
    macros = list(session.scalars(select(Macrodistrict)))
    zone_by_name = {normalize(z.name): z for z in zones}
    macro_by_name = {normalize(m.name): m for m in macros}
    canonical: list[str] = []
    ids: set[int] = set()
    unknown: list[str] = []
    for part in parts:
        if normalize(part) in ("all", "todos", "ciudad"):
            return Target("all", True, frozenset())
        kind, _, name = part.partition(":")
        kind, key = normalize(kind), normalize(name)
        if kind in ("zona", "zone") and key in zone_by_name:
            zone = zone_by_name[key]
            ids.add(zone.id)
            canonical.append(f"zona:{zone.name}")
        elif kind in ("macro", "macrodistrito") and key in macro_by_name:
            macro = macro_by_name[key]
            ids.update(z.id for z in zones if z.macrodistrict_id == macro.id)
            canonical.append(f"macro:{macro.name}")
        else:
            unknown.append(part)
    if unknown:
        raise ValueError(
            "unknown target(s): " + ", ".join(unknown) + " (use all, zona:NAME or macro:NAME)"
        )
    return Target(",".join(canonical), False, frozenset(ids))
