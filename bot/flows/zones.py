"""Matching what a resident types against the zona names: accents, case and typos forgiven."""

from __future__ import annotations

from dataclasses import dataclass

from rapidfuzz import fuzz, process

from bot.text import normalize
from storage.models import Zone

# Below this score (0-100) a name is not offered at all; an unambiguous match at or above
# SURE is taken without asking.
CLOSE = 75
SURE = 90
MAX_CHOICES = 5
# A shorter text matches only a zona named exactly so.
MIN_QUERY = 3


@dataclass(frozen=True)
class ZoneMatch:
    exact: Zone | None
    candidates: list[Zone]


def _key(name: str) -> str:
    text = normalize(name)
    for prefix in ("zona ", "barrio "):
        if text.startswith(prefix):
            return text[len(prefix) :]
    return text


def _starts_a_word(q: str, key: str) -> bool:
    """ "fatima" in "villa fatima", but not "si" in "pampahasi"."""
    return f" {key}".find(f" {q}") >= 0


def match_zone(query: str, zones: list[Zone]) -> ZoneMatch:
    """An exact (normalised) name wins outright; otherwise the close names, best first."""
    q = _key(query)
    if not q:
        return ZoneMatch(None, [])
    by_key: dict[str, list[Zone]] = {}
    for zone in zones:
        by_key.setdefault(_key(zone.name), []).append(zone)
    if q in by_key and len(by_key[q]) == 1:
        return ZoneMatch(by_key[q][0], [])
    if len(q) < MIN_QUERY:
        # "si", "no", "a": answers to another question, not a zona's name.
        return ZoneMatch(None, [])
    keys = list(by_key)
    scored = process.extract(q, keys, scorer=fuzz.WRatio, limit=MAX_CHOICES * 2, score_cutoff=CLOSE)
    # partial matches of a short query against long names inflate WRatio: also require the
    # plain ratio to be reasonable unless the name has a word starting with the query.
    found: list[tuple[float, Zone]] = []
    for key, score, _ in scored:
        if not _starts_a_word(q, key) and fuzz.ratio(q, key) < 60:
            continue
        for zone in by_key[key]:
            found.append((score, zone))
    found.sort(key=lambda item: (-item[0], item[1].name))
    if len(found) == 1 and found[0][0] >= SURE:
        return ZoneMatch(found[0][1], [])
    if len(found) > 1 and found[0][0] >= SURE and found[0][0] - found[1][0] >= 10:
        return ZoneMatch(found[0][1], [])
    return ZoneMatch(None, [zone for _, zone in found[:MAX_CHOICES]])


def numbered(names: list[str]) -> str:
    """ "1 San Jorge, 2 San Pedro" — short enough for one SMS with a few names."""
    return ", ".join(f"{i} {name}" for i, name in enumerate(names, start=1))
