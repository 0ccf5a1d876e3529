"""Seed data: La Paz macrodistritos and zonas, and synthetic residents for demos and benchmarks."""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from storage.conversations import ensure_conversations
from storage.enums import ResidentStatus
from storage.info import seed_emergency
from storage.models import TOPICS, Macrodistrict, Resident, ResidentZone, Zone, utcnow

ZONES_CSV = Path(__file__).parent / "data" / "la-paz-zones.csv"
# Synthetic residents live in a numbering block of their own, so they never collide with
# a real resident and can be told apart (and removed) by the synthetic flag.
SYNTHETIC_PHONE_BASE = 59160000000


@dataclass(frozen=True)
class ZoneRecord:
    macrodistrict: str
    kind: str
    district: int | None
    name: str


def read_zones(path: Path = ZONES_CSV) -> list[ZoneRecord]:
    with path.open(encoding="utf-8", newline="") as fh:
        return [
            ZoneRecord(
                macrodistrict=row["macrodistrito"].strip(),
                kind=row["tipo"].strip() or "urbano",
                district=int(row["distrito"]) if row["distrito"].strip() else None,
                name=row["zona"].strip(),
            )
            for row in csv.DictReader(fh)
            if row.get("zona", "").strip()
        ]


def seed_zones(session: Session, records: list[ZoneRecord] | None = None) -> tuple[int, int]:
    """Insert missing macrodistritos and zonas (and the emergency numbers every zona has);
    return how many macrodistritos and zonas were added."""
    records = read_zones() if records is None else records
    macros = {m.name: m for m in session.scalars(select(Macrodistrict))}
    existing = {(z.macrodistrict_id, z.name) for z in session.scalars(select(Zone))}
    added_macros = added_zones = 0
    for rec in records:
        macro = macros.get(rec.macrodistrict)
        if macro is None:
            macro = Macrodistrict(name=rec.macrodistrict, position=len(macros) + 1)
            session.add(macro)
            session.flush()
            macros[rec.macrodistrict] = macro
            added_macros += 1
        if (macro.id, rec.name) not in existing:
            session.add(
                Zone(
                    name=rec.name,
                    macrodistrict_id=macro.id,
                    district=rec.district,
                    kind=rec.kind,
                )
            )
            existing.add((macro.id, rec.name))
            added_zones += 1
    session.flush()
    seed_emergency(session)
    return added_macros, added_zones


def seed_demo_residents(
    session: Session, count: int, *, aymara_share: float = 0.3, seed: int = 591
) -> int:
    """Make sure `count` synthetic onboarded residents exist; return how many were added.

    Numbers are deterministic, so running it twice adds nobody the second time.
    """
    zone_ids = list(session.scalars(select(Zone.id).order_by(Zone.id)))
    if not zone_ids:
        raise ValueError("no zones: seed the zones first")
    have = session.scalar(select(func.count()).where(Resident.synthetic.is_(True))) or 0
    if have >= count:
        return 0
    rng = random.Random(seed + have)
    now = utcnow()
    rows = []
    for i in range(have, count):
        rows.append(
            {
                "phone": f"+{SYNTHETIC_PHONE_BASE + i}",
                "language": "ay" if rng.random() < aymara_share else "es",
                "zone_id": zone_ids[rng.randrange(len(zone_ids))],
                "status": ResidentStatus.ACTIVE,
                "topics": list(TOPICS),
                "last_channel": "whatsapp" if rng.random() < 0.4 else "sms",
                "synthetic": True,
                "created_at": now,
                "consent_at": now,
            }
        )
    for start in range(0, len(rows), 5000):
        session.execute(insert(Resident), rows[start : start + 5000])
    ensure_conversations(session, Resident.synthetic.is_(True))
    session.execute(
        insert(ResidentZone).from_select(
            ["resident_id", "zone_id", "since"],
            select(Resident.id, Resident.zone_id, Resident.created_at).where(
                Resident.synthetic.is_(True),
                Resident.zone_id.is_not(None),
                ~select(ResidentZone.id).where(ResidentZone.resident_id == Resident.id).exists(),
            ),
        )
    )
    return len(rows)
