"""CSV exports for analysts: the weekly measures, and anonymised event rows.

Spreadsheet-safe (UTF-8 with BOM so Excel reads the accents; a text cell starting with
= + - @ or a control character gets a leading apostrophe so it is never run as a formula).
Event rows carry no phone and no free text, and a resident appears only as a salted hash that
is stable within one export and unlinkable across exports. Residents who asked to be erased
are left out of the event rows (their anonymous counts stay in the measures).
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import secrets
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from bot.evidence.measures import CITY, Place, flatten, local_midnight, series, utc
from storage import evidence as rows

RISKY = ("=", "+", "-", "@", "\t", "\r", "\n")


def safe(value: Any) -> Any:
    """A cell a spreadsheet will show, never evaluate."""
    if isinstance(value, str) and value.startswith(RISKY):
        return "'" + value
    return "" if value is None else value


def write_csv(path: Path, header: Sequence[str], body: Iterable[Sequence[Any]]) -> int:
    count = 0
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow([safe(h) for h in header])
        for row in body:
            writer.writerow([safe(v) for v in row])
            count += 1
    return count


class Pseudonyms:
    """Resident ids as salted hashes: the same resident, the same hash, in this export only."""

    def __init__(self) -> None:
        self._salt = secrets.token_bytes(32)

    def __call__(self, resident_id: int | None) -> str:
        if resident_id is None:
            return ""
        return hmac.new(self._salt, str(resident_id).encode(), hashlib.sha256).hexdigest()[:16]


def places(session: Session) -> list[Place]:
    """The city, every macrodistrito and every zona."""
    names = rows.zone_names(session)
    macros: dict[str, list[int]] = {}
    for zone_id, (_zone, macro) in names.items():
        macros.setdefault(macro, []).append(zone_id)
    out = [CITY]
    out += [Place("macro", m, tuple(sorted(ids))) for m, ids in sorted(macros.items())]
    out += [
        Place("zone", zone, (zone_id,))
        for zone_id, (zone, _m) in sorted(names.items(), key=lambda kv: kv[1])
    ]
    return out


def export_csv(
    session: Session, out_dir: Path, first: date, last: date, step: str = "week"
) -> dict[str, int]:
    """Write measures.csv and events.csv into out_dir; rows written per file."""
    out_dir.mkdir(parents=True, exist_ok=True)
    table: list[dict[str, Any]] = []
    for where in places(session):
        for figures in series(session, where, first, last, step):
            flat = flatten(figures)
            table.append(flat)
    header: list[str] = []
    for flat in table:
        header += [k for k in flat if k not in header]
    written = {
        "measures.csv": write_csv(
            out_dir / "measures.csv", header, ([flat.get(k) for k in header] for flat in table)
        )
    }
    written["events.csv"] = write_csv(
        out_dir / "events.csv",
        ["event", "at", "zona", "macrodistrito", "resident", "detail", "channel"],
        event_rows(session, first, last),
    )
    return written


def event_rows(session: Session, first: date, last: date) -> Iterable[list[Any]]:
    """One row per sign-up, text, vote, opt-out, report and status change in the range."""
    start, end = local_midnight(first), local_midnight(last + timedelta(days=1))
    names = rows.zone_names(session)
    who = Pseudonyms()
    erased = rows.erased_residents(session)

    def where(zone_id: int | None) -> list[str]:
        zone, macro = names.get(zone_id, ("", "")) if zone_id is not None else ("", "")
        return [zone, macro]

    for zone_id, language, consent, _left, signed in rows.signups(session, end, None):
        if signed not in erased and _within(consent, start, end):
            yield ["signup", _iso(consent), *where(zone_id), who(signed), language or "", ""]
    for actor, zone_id, at, channel in rows.activity(session, start, end, None):
        if actor not in erased:
            kind = "vote" if channel == "vote" else "text"
            channel = "" if kind == "vote" else channel
            yield [kind, _iso(at), *where(zone_id), who(actor), "", channel]
    for leaver, zone_id, at in rows.opt_outs(session, start, end, None):
        if leaver not in erased:
            yield ["opt_out", _iso(at), *where(zone_id), who(leaver), "", ""]
    filed = rows.reports_with_reporter(session, start, end)
    for _id, zone_id, category, _status, created, reporter in filed:
        if reporter not in erased:
            yield ["report", _iso(created), *where(zone_id), who(reporter), category, ""]
    kept = {r[0]: r for r in filed if r[5] not in erased}
    for report_id, status, source, at in rows.report_events(session, list(kept)):
        yield [f"report_{source}", _iso(at), *where(kept[report_id][1]), "", status, ""]


def _within(moment: datetime, start: datetime, end: datetime) -> bool:
    return start <= utc(moment) < end


def _iso(moment: datetime) -> str:
    return utc(moment).isoformat()
