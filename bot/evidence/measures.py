"""The evidence measures, each defined once: pages, exports, the API and the CLI call these.

A period is [start, end) in UTC; weeks start on Monday and months on the 1st, at midnight in
La Paz. Every resident is counted in the zona they had at the time of what is counted
(storage.evidence.zone_at), so figures for the past do not move when someone changes zona.

Definitions (also in docs/evidence.md):
- signed_up_new: residents whose consent falls in the period (zona at consent).
- signed_up: residents signed up at the end of the period: consented before it ends and not
  opted out or erased by then (zona at the end of the period).
- active: signed-up residents who texted (inbound_messages) or voted in the period, counted
  once; zona at the time of the text or vote.
- opted_out: signed-up residents whose opt-out falls in the period (zona then).
- signed_up_during: residents signed up at any moment of the period (signed_up plus those
  who left during it), zona at the end of the period.
- participation_rate: active / signed_up_during (so it never exceeds 1).
- by_language: signed_up by language; active_by_channel: active residents by the channel
  they wrote on (sms, whatsapp; "vote" is not a channel and is left out).
- reports: filed in the period (zona of the reporter when filed), by category and by status
  now; hours to the first change by the municipality and to the municipality's first
  "resolved" (median, and p90 by nearest rank: the ceil(0.9 n)-th smallest);
  resolved = reports the municipality marked resolved; confirmed = of those, the reporter
  answered yes to "¿se resolvió?"; reopened = the reporter answered no;
  confirmed_share = confirmed / resolved; reopen_rate = reopened / resolved;
  supporters = "me too" added in the period to reports of the place.
- polls created in the period: invited = residents a poll broadcast went to (not canceled,
  not suppressed); voted = those of them who voted; turnout = voted / invited.
- broadcasts created in the period: recipients = delivery rows; delivered = Twilio said
  delivered or read; failed = failed or undelivered; opted_out_after = recipients who
  opted out within 7 days of the broadcast.
- services (OFREZCO / BUSCO), by the offer's zona and the searcher's zona at the search:
  offers_new = offers published in the period; offers_active = offers published before the
  period ends and not expired at its end, neither paused nor waiting for approval now (an
  offer deleted since leaves no trace, and a pause is known only as it is now);
  searches = BUSCO searches in the period; searches_found = those that found at least one
  offer; found_share = searches_found / searches.
- mapping: items youth mappers recorded in the period in the place (the zona they mapped),
  approved and rejected = of those, how they stand now; kinds = distinct kinds recorded;
  coverage = kinds / all the kinds a mapper can record (11).
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from storage import evidence as rows
from storage import mapping as mapping_rows
from storage import rollups
from storage.models import MAP_COVERED_KINDS

LA_PAZ = ZoneInfo("America/La_Paz")
OPT_OUT_AFTER = timedelta(days=7)
DELIVERED = ("delivered", "read")
FAILED = ("failed", "undelivered")
STEPS = ("week", "month")


@dataclass(frozen=True)
class Place:
    """The city, a macrodistrito or a zona: what the measures are counted over."""

    kind: str  # city | macro | zone
    name: str
    zone_ids: tuple[int, ...] | None  # None: the whole city

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name}


CITY = Place("city", "La Paz", None)


class UnknownPlace(LookupError):
    pass


def place(session: Session, *, macro: str | None = None, zone: str | None = None) -> Place:
    """The place named by a macrodistrito or a zona (neither: the city)."""
    if macro is None and zone is None:
        return CITY
    ids = rows.zone_ids(session, macro=macro, zone=zone)
    if not ids:
        raise UnknownPlace(zone or macro or "")
    if zone is not None:
        return Place("zone", zone, tuple(ids))
    return Place("macro", macro or "", tuple(ids))


def zone_place(session: Session, zone_id: int) -> Place:
    name = rows.zone_names(session).get(zone_id, (str(zone_id), ""))[0]
    return Place("zone", name, (zone_id,))


def date_range(first: str | None, last: str | None, *, weeks: int = 12) -> tuple[date, date]:
    """ISO dates from a query string; by default the last `weeks` weeks up to today."""
    end = date.fromisoformat(last) if last else date.today()
    start = date.fromisoformat(first) if first else end - timedelta(weeks=weeks, days=-1)
    if start > end:
        raise ValueError("from is after to")
    if (end - start).days > 731:
        raise ValueError("at most two years at a time")
    return start, end


def local_midnight(day: date) -> datetime:
    """Midnight in La Paz at the start of `day`, in UTC."""
    return datetime(day.year, day.month, day.day, tzinfo=LA_PAZ).astimezone(UTC)


def periods(first: date, last: date, step: str) -> list[tuple[date, date]]:
    """Weeks (Monday to Monday) or calendar months covering first..last, as [start, end)
    dates, the first and last cut to the range."""
    if step not in STEPS:
        raise ValueError(f"step is week or month, not {step!r}")
    out: list[tuple[date, date]] = []
    end = last + timedelta(days=1)
    cursor = first
    while cursor < end:
        if step == "week":
            nxt = cursor - timedelta(days=cursor.weekday()) + timedelta(days=7)
        else:
            nxt = date(cursor.year + cursor.month // 12, cursor.month % 12 + 1, 1)
        out.append((cursor, min(nxt, end)))
        cursor = nxt
    return out


def percentile(values: list[float], share: float) -> float | None:
    """Nearest rank: the ceil(share * n)-th smallest (a value that happened)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(share * len(ordered))) - 1]


def spread(values: list[float]) -> dict[str, Any]:
    """How many, median and p90, in hours rounded to a tenth."""
    median = statistics.median(values) if values else None
    p90 = percentile(values, 0.9)
    return {
        "n": len(values),
        "median": None if median is None else round(median, 1),
        "p90": None if p90 is None else round(p90, 1),
    }


def share(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(part / whole, 4)


def _hours(later: datetime, earlier: datetime) -> float:
    return (utc(later) - utc(earlier)).total_seconds() / 3600


def utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def whole_days(start: datetime, end: datetime) -> tuple[date, date] | None:
    """[start, end) as La Paz days [first, end) when both are midnights there, else None."""
    first, last = utc(start).astimezone(LA_PAZ).date(), utc(end).astimezone(LA_PAZ).date()
    if local_midnight(first) != utc(start) or local_midnight(last) != utc(end):
        return None
    return first, last


def measures(
    session: Session, where: Place, start: datetime, end: datetime, *, source: str = "auto"
) -> dict[str, Any]:
    """Every measure for one place and one period [start, end).

    source "auto" reads the rollups the worker keeps (storage/rollups.py) when they are built
    and the period is whole La Paz days, the event tables otherwise; "raw" always reads the
    event tables, "rollups" always the rollups. Both give the same figures (a test runs every
    measure both ways); the rollups are as fresh as the worker's last refresh."""
    days = whole_days(start, end)
    if source == "rollups" or (source == "auto" and days is not None and rollups.built(session)):
        if days is None:
            raise ValueError("the rollups count whole La Paz days")
        return rollup_measures(session, where, *days)
    zones = where.zone_ids
    return {
        "place": where.to_json(),
        "from": start.isoformat(),
        "to": end.isoformat(),
        "residents": resident_measures(session, zones, start, end),
        "reports": report_measures(session, zones, start, end),
        "polls": poll_measures(session, zones, start, end),
        "broadcasts": broadcast_measures(session, zones, start, end),
        "services": service_measures(session, zones, start, end),
        "mapping": mapping_measures(session, zones, start, end),
    }


def mapping_measures(
    session: Session, zones: rows.Zones, start: datetime, end: datetime
) -> dict[str, Any]:
    recorded = mapping_rows.recorded_between(session, start, end, zones)
    kinds = len({kind for kind, _ in recorded if kind in MAP_COVERED_KINDS})
    return {
        "items": len(recorded),
        "approved": sum(1 for _, status in recorded if status == "approved"),
        "rejected": sum(1 for _, status in recorded if status == "rejected"),
        "kinds": kinds,
        "coverage": kinds / len(MAP_COVERED_KINDS),
    }


def resident_measures(
    session: Session, zones: rows.Zones, start: datetime, end: datetime
) -> dict[str, Any]:
    new = [r for r in rows.signups(session, end, zones) if utc(r[2]) >= start]
    at_end = rows.signups(session, end, zones, zone_moment=end)
    during = [r for r in at_end if r[3] is None or utc(r[3]) >= start]
    now_in = [r for r in at_end if r[3] is None or utc(r[3]) >= end]
    acts = rows.activity(session, start, end, zones)
    active = {rid for rid, _zone, _at, _channel in acts}
    channels: dict[str, set[int]] = {}
    for rid, _zone, _at, channel in acts:
        if channel != "vote":
            channels.setdefault(channel, set()).add(rid)
    signed_up = len(now_in)
    return {
        "signed_up_new": len(new),
        "signed_up": signed_up,
        "signed_up_during": len(during),
        "active": len(active),
        "opted_out": len(rows.opt_outs(session, start, end, zones)),
        "participation_rate": share(len(active), len(during)),
        "by_language": dict(sorted(Counter(r[1] or "unknown" for r in now_in).items())),
        "active_by_channel": {c: len(ids) for c, ids in sorted(channels.items())},
    }


def report_measures(
    session: Session, zones: rows.Zones, start: datetime, end: datetime
) -> dict[str, Any]:
    filed = rows.reports(session, start, end, zones)
    created = {rid: at for rid, _z, _c, _s, at in filed}
    events: dict[int, list[Any]] = {}
    for report_id, status, source, at in rows.report_events(session, list(created)):
        events.setdefault(report_id, []).append((status, source, at))
    first_change: list[float] = []
    to_resolve: list[float] = []
    resolved = confirmed = reopened = 0
    for report_id, history in events.items():
        by_city = [(s, at) for s, src, at in history if src != "resident"]
        if by_city:
            first_change.append(_hours(by_city[0][1], created[report_id]))
        resolutions = [at for s, at in by_city if s == "resolved"]
        if resolutions:
            resolved += 1
            to_resolve.append(_hours(resolutions[0], created[report_id]))
            answers = [s for s, src, _at in history if src == "resident"][1:]
            confirmed += "resolved" in answers
            reopened += "received" in answers
    return {
        "new": len(filed),
        "by_category": dict(sorted(Counter(r[2] for r in filed).items())),
        "by_status": dict(sorted(Counter(r[3] for r in filed).items())),
        "hours_to_first_change": spread(first_change),
        "hours_to_resolution": spread(to_resolve),
        "resolved": resolved,
        "confirmed": confirmed,
        "reopened": reopened,
        "confirmed_share": share(confirmed, resolved),
        "reopen_rate": share(reopened, resolved),
        "supporters": rows.supports(session, start, end, zones),
    }


def poll_measures(
    session: Session, zones: rows.Zones, start: datetime, end: datetime
) -> dict[str, Any]:
    invites = rows.poll_invitations(session, start, end, zones)
    invited = len({(p, r) for p, r, _v in invites})
    voted = len({(p, r) for p, r, v in invites if v})
    return {
        "polls": len({p for p, _r, _v in invites}),
        "invited": invited,
        "voted": voted,
        "turnout": share(voted, invited),
    }


def broadcast_measures(
    session: Session, zones: rows.Zones, start: datetime, end: datetime
) -> dict[str, Any]:
    sent = rows.broadcast_deliveries(session, start, end, zones)
    return {
        "broadcasts": len({b for b, *_ in sent}),
        "recipients": len(sent),
        "delivered": sum(1 for _b, _r, status, _o, _c in sent if status in DELIVERED),
        "failed": sum(1 for _b, _r, status, _o, _c in sent if status in FAILED),
        "opted_out_after": len(
            {
                r
                for _b, r, _s, out, at in sent
                if out is not None and utc(at) <= utc(out) < utc(at) + OPT_OUT_AFTER
            }
        ),
    }


def service_measures(
    session: Session, zones: rows.Zones, start: datetime, end: datetime
) -> dict[str, Any]:
    offered = rows.offers(session, end, zones)
    looked = rows.searches(session, start, end, zones)
    found = sum(1 for _zone, results in looked if results > 0)
    return {
        "offers_new": sum(1 for _z, created, _e, _s in offered if utc(created) >= start),
        "offers_active": sum(
            1 for _z, _c, expires, shown in offered if shown and utc(expires) > end
        ),
        "searches": len(looked),
        "searches_found": found,
        "found_share": share(found, len(looked)),
    }


def rollup_measures(session: Session, where: Place, first: date, end: date) -> dict[str, Any]:
    """Every measure for one place over La Paz days [first, end), from the rollups."""
    [figures] = rollup_series(session, where, [(first, end)])
    return figures


def _scope(session: Session, where: Place) -> tuple[str, int] | None:
    """Where the rollups count this place's active residents (None: a group of zonas)."""
    zones = where.zone_ids
    if zones is None:
        return ("c", 0)
    if len(zones) == 1:
        return ("z", zones[0])
    macro = rollups.macro_of(session, zones)
    return None if macro is None else ("m", macro)


def rollup_series(
    session: Session, where: Place, spans: list[tuple[date, date]]
) -> list[dict[str, Any]]:
    """Every measure for one place over consecutive La Paz day spans, from the rollups."""
    rows_ = rollups.span_rows(session, where.zone_ids, _scope(session, where), spans)
    return _with_small_tables(session, where, spans, _figures(where, spans, rows_))


def rollup_series_many(
    session: Session, wheres: list[Place], spans: list[tuple[date, date]]
) -> list[list[dict[str, Any]]]:
    """rollup_series for many places (an export): each rollup is read once for every zona;
    a macrodistrito or the city adds up its zonas and counts its own active residents."""
    by_zone = rollups.span_rows_by_zone(session, spans)
    empty = rollups.SpanRows({}, [], [{} for _ in spans], [], [], [], [], [])
    out = []
    for where in wheres:
        zones = list(by_zone) if where.zone_ids is None else list(where.zone_ids)
        parts = [by_zone.get(z, empty) for z in zones]
        if where.zone_ids is not None and len(where.zone_ids) == 1:
            rows_ = parts[0]
        else:
            scope = _scope(session, where)
            active = rollups.active_rows(session, where.zone_ids, scope, spans)
            rows_ = rollups.merge(parts, active)
        out.append(_with_small_tables(session, where, spans, _figures(where, spans, rows_)))
    return out


def measures_many(
    session: Session, wheres: list[Place], start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """The residents, reports and polls measures of many zonas or groups of zonas over one
    period (the between-zona comparison); no services or mapping figures.

    From the rollups (when measures() would read them) every rollup is read once for all the
    zonas. A group's active residents are then the sum of its zonas': a resident active in
    two zonas of one group during the period (they moved between them) counts in each; the
    event tables (the other path) count them once."""
    days = whole_days(start, end)
    if days is None or not rollups.built(session):
        return [measures(session, where, start, end) for where in wheres]
    spans = [days]
    # Read once per session and period: the comparison ranks the zonas, then groups them.
    known = session.info.setdefault("span_rows_by_zone", {})
    if days not in known:
        known[days] = rollups.span_rows_by_zone(session, spans)
    by_zone = known[days]
    empty = rollups.SpanRows({}, [], [{}], [], [], [], [], [])
    out = []
    for where in wheres:
        parts = [by_zone.get(z, empty) for z in where.zone_ids or ()]
        active: dict[str, int] = Counter()
        for part in parts:
            active.update(part.active[0])
        rows_ = rollups.merge(parts, [dict(active)])
        out.append(_figures(where, spans, rows_)[0])
    return out


def _with_small_tables(
    session: Session,
    where: Place,
    spans: list[tuple[date, date]],
    figures: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """Offers, searches and mapped items have no rollups: their tables are small (one row per
    offer, search or mapped item, never per text), so they are counted from the tables."""
    zones = where.zone_ids
    for (first, end), period in zip(spans, figures, strict=True):
        start, stop = local_midnight(first), local_midnight(end)
        period["services"] = service_measures(session, zones, start, stop)
        period["mapping"] = mapping_measures(session, zones, start, stop)
    return figures


def _figures(
    where: Place, spans: list[tuple[date, date]], rows_: rollups.SpanRows
) -> list[dict[str, Any]]:
    out = []
    for (first, end), part in zip(spans, rollups.split(rows_, spans), strict=True):
        daily = part["daily"]
        by_language = part["signed_up"]
        signed_up = sum(by_language.values())
        left = sum(n for (m, _k), n in daily.items() if m == "left")
        during = signed_up + left
        active = part["active"]
        reports = part["reports"]
        resolved = sum(r[4] for r in reports)
        confirmed = sum(r[5] for r in reports)
        reopened = sum(r[6] for r in reports)
        by_category: Counter[str] = Counter()
        by_status: Counter[str] = Counter()
        for _day, category, status, n, *_rest in reports:
            by_category[category] += n
            by_status[status] += n
        out.append(
            {
                "place": where.to_json(),
                "from": local_midnight(first).isoformat(),
                "to": local_midnight(end).isoformat(),
                "residents": {
                    "signed_up_new": sum(n for (m, _k), n in daily.items() if m == "joined"),
                    "signed_up": signed_up,
                    "signed_up_during": during,
                    "active": active.get("*", 0),
                    "opted_out": daily.get(("opted_out", ""), 0),
                    "participation_rate": share(active.get("*", 0), during),
                    "by_language": by_language,
                    "active_by_channel": {
                        c: n for c, n in sorted(active.items()) if c != "*" and n
                    },
                },
                "reports": {
                    "new": sum(by_category.values()),
                    "by_category": dict(sorted(by_category.items())),
                    "by_status": dict(sorted(by_status.items())),
                    "hours_to_first_change": spread(part["first_change"]),
                    "hours_to_resolution": spread(part["resolution"]),
                    "resolved": resolved,
                    "confirmed": confirmed,
                    "reopened": reopened,
                    "confirmed_share": share(confirmed, resolved),
                    "reopen_rate": share(reopened, resolved),
                    "supporters": daily.get(("supporters", ""), 0),
                },
                "polls": {
                    "polls": len(part["polls"]),
                    "invited": part["invited"],
                    "voted": part["voted"],
                    "turnout": share(part["voted"], part["invited"]),
                },
                "broadcasts": {
                    "broadcasts": len(part["broadcasts"]),
                    "recipients": part["recipients"],
                    "delivered": part["delivered"],
                    "failed": part["failed"],
                    "opted_out_after": len(part["opted_out_after"]),
                },
            }
        )
    return out


def series(
    session: Session,
    where: Place,
    first: date,
    last: date,
    step: str = "week",
    *,
    source: str = "auto",
) -> list[dict[str, Any]]:
    """The measures per week or month from `first` to `last` (La Paz dates, inclusive)."""
    spans = periods(first, last, step)
    if source == "rollups" or (source == "auto" and rollups.built(session)):
        return rollup_series(session, where, spans)
    return [
        measures(session, where, local_midnight(a), local_midnight(b), source=source)
        for a, b in periods(first, last, step)
    ]


def flatten(figures: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """One level of keys ("residents.active", "reports.by_category.agua") for tables and CSV."""
    out: dict[str, Any] = {}
    for key, value in figures.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


def zones_of(session: Session, where: Place) -> Iterable[int]:
    return where.zone_ids if where.zone_ids is not None else rows.zone_names(session).keys()
