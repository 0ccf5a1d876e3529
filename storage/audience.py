"""Signed-up residents per zona: read from audience_counts, which triggers on `residents` keep
exact in the resident's own transaction (migration 0017). A page reads a few hundred rows
instead of counting a city's residents.

Every page and call that says how many residents a zona has (the console's home page, the
API's stats, a poll's turnout, a broadcast's preview and cost) reads these functions, so they
agree with each other and with `recipients_query` at the moment they are read.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import Connection, func, select, text
from sqlalchemy.orm import Session

from storage.models import AudienceCount

SIGNED_UP = ""  # the topic row that counts every active resident
NO_ZONE = 0
NO_LANGUAGE = ""


RECOUNT_POSTGRESQL = """
INSERT INTO audience_counts (zone_id, language, topic, residents)
SELECT COALESCE(r.zone_id, 0), COALESCE(r.language, ''), t.topic, count(*)
FROM residents r
CROSS JOIN LATERAL (
    SELECT '' AS topic
    UNION
    SELECT value FROM json_array_elements_text(
        CASE WHEN json_typeof(r.topics::json) = 'array' THEN r.topics::json ELSE '[]'::json END)
    WHERE r.phone IS NOT NULL AND r.number_invalid_at IS NULL) t
WHERE r.status = 'active'
GROUP BY 1, 2, 3
"""


def recount_postgresql(session: Session | Connection) -> None:
    """Count every resident again in one pass, for a bulk load that wrote residents with the
    triggers switched off (storage/demo_city.py). PostgreSQL only."""
    session.execute(text("DELETE FROM audience_counts"))
    session.execute(text(RECOUNT_POSTGRESQL))


def _counts(
    session: Session, topic: str, zone_ids: Collection[int] | None, group: Any
) -> Sequence[tuple[Any, Any]]:
    query = select(group, func.sum(AudienceCount.residents)).where(AudienceCount.topic == topic)
    if zone_ids is not None:
        query = query.where(AudienceCount.zone_id.in_(list(zone_ids)))
    return session.execute(query.group_by(group)).tuples().all()


def signed_up_by_zone(
    session: Session, zone_ids: Collection[int] | None = None
) -> dict[int | None, int]:
    """Active residents per zona (None: those without a zona), within zone_ids when given;
    zonas with nobody are left out."""
    return {
        (None if zone == NO_ZONE else zone): int(n)
        for zone, n in _counts(session, SIGNED_UP, zone_ids, AudienceCount.zone_id)
        if n
    }


def signed_up_by_language(
    session: Session, zone_ids: Collection[int] | None = None
) -> dict[str | None, int]:
    """Active residents per language (None: not chosen yet), within zone_ids when given."""
    return {
        (None if lang == NO_LANGUAGE else lang): int(n)
        for lang, n in _counts(session, SIGNED_UP, zone_ids, AudienceCount.language)
        if n
    }


def reached_by_language(
    session: Session, topic: str, zone_ids: Collection[int] | None
) -> dict[str, int]:
    """How many residents a broadcast of `topic` to these zonas (None: the city) reaches, per
    language; no language on record counts as Spanish, as the sender writes to them."""
    found: dict[str, int] = {}
    for lang, n in _counts(session, topic, zone_ids, AudienceCount.language):
        if n:
            key = lang or "es"
            found[key] = found.get(key, 0) + int(n)
    return found
