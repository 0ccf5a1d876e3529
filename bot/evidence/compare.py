"""Comparisons: before and after a date over equal windows, and between groups of zonas.

Noise is stated, not hidden. A change in a count (texts, sign-ups, reports) is read as a
Poisson count: the difference after - before with a 95% interval of +-1.96 sqrt(before +
after). A change in a share (participation, turnout) uses the normal approximation for two
proportions. Fewer than MIN_COUNT events, or fewer than MIN_BASE people behind a share, and
the verdict is "too few to tell"; an interval that straddles zero is "no clear change".
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from bot.evidence.measures import (
    Place,
    local_midnight,
    measures,
    measures_many,
    zone_place,
    zones_of,
)

Z95 = 1.96
MIN_COUNT = 10
MIN_BASE = 20
TOO_FEW = "too few to tell"
NO_CLEAR = "no clear change"

# The counts and the shares (with what they are a share of) a before/after compares.
COUNTS = (
    ("residents", "signed_up_new"),
    ("residents", "active"),
    ("residents", "opted_out"),
    ("reports", "new"),
    ("reports", "supporters"),
    ("polls", "voted"),
)
SHARES = (
    ("residents", "participation_rate", "signed_up_during"),
    ("polls", "turnout", "invited"),
    ("reports", "confirmed_share", "resolved"),
)


def count_change(before: int, after: int) -> dict[str, Any]:
    """after - before for two counts over equal windows, with a 95% Poisson interval."""
    diff = after - before
    half = Z95 * math.sqrt(before + after)
    low, high = diff - half, diff + half
    if before + after < MIN_COUNT:
        verdict = TOO_FEW
    elif low <= 0 <= high:
        verdict = NO_CLEAR
    else:
        verdict = "up" if diff > 0 else "down"
    return {
        "before": before,
        "after": after,
        "difference": diff,
        "interval": [round(low, 1), round(high, 1)],
        "verdict": verdict,
    }


def share_change(
    before: float | None, n_before: int, after: float | None, n_after: int
) -> dict[str, Any]:
    """after - before for two shares, with a 95% normal-approximation interval."""
    out: dict[str, Any] = {
        "before": before,
        "after": after,
        "n_before": n_before,
        "n_after": n_after,
    }
    if before is None or after is None or min(n_before, n_after) < MIN_BASE:
        return {**out, "difference": None, "interval": None, "verdict": TOO_FEW}
    diff = after - before
    half = Z95 * math.sqrt(before * (1 - before) / n_before + after * (1 - after) / n_after)
    low, high = diff - half, diff + half
    if low <= 0 <= high:
        verdict = NO_CLEAR
    else:
        verdict = "up" if diff > 0 else "down"
    return {
        **out,
        "difference": round(diff, 4),
        "interval": [round(low, 4), round(high, 4)],
        "verdict": verdict,
    }


def before_after(session: Session, where: Place, moment: date, days: int = 28) -> dict[str, Any]:
    """Each measure over `days` before `moment` and `days` from it (La Paz dates)."""
    pivot = local_midnight(moment)
    window = timedelta(days=days)
    before = measures(session, where, pivot - window, pivot)
    after = measures(session, where, pivot, pivot + window)
    changes: dict[str, Any] = {}
    for group, name in COUNTS:
        changes[f"{group}.{name}"] = count_change(before[group][name], after[group][name])
    for group, name, base in SHARES:
        changes[f"{group}.{name}"] = share_change(
            before[group][name], before[group][base], after[group][name], after[group][base]
        )
    for name in ("hours_to_first_change", "hours_to_resolution"):
        b, a = before["reports"][name], after["reports"][name]
        changes[f"reports.{name}"] = {
            "before": b,
            "after": a,
            "verdict": TOO_FEW if min(b["n"], a["n"]) < MIN_COUNT else "medians only",
        }
    return {
        "place": where.to_json(),
        "date": moment.isoformat(),
        "days": days,
        "before": before,
        "after": after,
        "changes": changes,
    }


def terciles(session: Session, start: datetime, end: datetime, within: Place) -> dict[str, Any]:
    """Zonas ranked by participation rate and cut in three groups as equal as can be; how
    resolution times and poll turnout differ between the groups (pooled over each group).

    Zonas with nobody signed up during the period have no rate and are left out.
    """
    ranked: list[tuple[float, str, int]] = []
    zones = [zone_place(session, zone_id) for zone_id in zones_of(session, within)]
    for zone, figures in zip(zones, measures_many(session, zones, start, end), strict=True):
        rate = figures["residents"]["participation_rate"]
        if rate is not None and zone.zone_ids:
            ranked.append((rate, zone.name, zone.zone_ids[0]))
    ranked.sort()
    n = len(ranked)
    cut = []
    for i, label in enumerate(("lowest", "middle", "highest")):
        members = ranked[i * n // 3 : (i + 1) * n // 3]
        if members:
            cut.append((label, members))
    places = [Place("group", label, tuple(z for _r, _n, z in members)) for label, members in cut]
    groups = []
    for (label, members), figures in zip(
        cut, measures_many(session, places, start, end), strict=True
    ):
        groups.append(
            {
                "group": label,
                "zonas": [{"name": name, "participation_rate": rate} for rate, name, _ in members],
                "participation_rate": figures["residents"]["participation_rate"],
                "signed_up_during": figures["residents"]["signed_up_during"],
                "hours_to_resolution": figures["reports"]["hours_to_resolution"],
                "poll_turnout": figures["polls"]["turnout"],
                "invited": figures["polls"]["invited"],
            }
        )
    comparison = None
    if len(groups) >= 2:
        low, high = groups[0], groups[-1]
        comparison = {
            "poll_turnout": share_change(
                low["poll_turnout"], low["invited"], high["poll_turnout"], high["invited"]
            ),
            "hours_to_resolution": {
                "lowest": low["hours_to_resolution"],
                "highest": high["hours_to_resolution"],
                "verdict": TOO_FEW
                if min(low["hours_to_resolution"]["n"], high["hours_to_resolution"]["n"])
                < MIN_COUNT
                else "medians only",
            },
        }
    return {"zonas_ranked": n, "groups": groups, "highest_vs_lowest": comparison}
