"""CSV and Parquet exports for analysts: the weekly measures, and anonymised event rows.

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
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from bot.evidence.measures import (
    CITY,
    Place,
    flatten,
    local_midnight,
    periods,
    rollup_series_many,
    series,
    utc,
)
from storage import evidence as rows
from storage import rollups

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


FORMATS = ("csv", "parquet")
EVENT_HEADER = ["event", "at", "zona", "macrodistrito", "resident", "detail", "channel"]
TEXT_HEADER = ["text"]
BATCH = 50_000

Progress = Callable[[int, int], None]


def export_csv(
    session: Session, out_dir: Path, first: date, last: date, step: str = "week"
) -> dict[str, int]:
    """Write measures.csv and events.csv into out_dir; rows written per file."""
    return export(session, out_dir, first, last, step, "csv")


def export(
    session: Session,
    out_dir: Path,
    first: date,
    last: date,
    step: str = "week",
    fmt: str = "csv",
    *,
    free_text: bool = False,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Write measures.<fmt> and events.<fmt> into out_dir; rows written per file.

    free_text adds each report's description to its row (only for roles that may read
    reports). progress(done, total) is called as places are counted and events written."""
    if fmt not in FORMATS:
        raise ValueError(f"format is csv or parquet, not {fmt!r}")
    out_dir.mkdir(parents=True, exist_ok=True)
    every = places(session)
    total = len(every) + 1
    table: list[dict[str, Any]] = []
    if rollups.built(session):  # every place at once: each rollup read one time
        for place_series in rollup_series_many(session, every, periods(first, last, step)):
            table += [flatten(figures) for figures in place_series]
        if progress is not None:
            progress(len(every), total)
    else:
        for done, where in enumerate(every, start=1):
            for figures in series(session, where, first, last, step):
                table.append(flatten(figures))
            if progress is not None:
                progress(done, total)
    header: list[str] = []
    for flat in table:
        header += [k for k in flat if k not in header]
    measures_rows = ([flat.get(k) for k in header] for flat in table)
    event_header = EVENT_HEADER + (TEXT_HEADER if free_text else [])
    events = event_rows(session, first, last, free_text=free_text)
    write = write_csv if fmt == "csv" else write_parquet
    written = {f"measures.{fmt}": write(out_dir / f"measures.{fmt}", header, measures_rows)}
    written[f"events.{fmt}"] = write(out_dir / f"events.{fmt}", event_header, events)
    if progress is not None:
        progress(total, total)
    return written


def write_parquet(path: Path, header: Sequence[str], body: Iterable[Sequence[Any]]) -> int:
    """Columns typed from the values (numbers stay numbers); written in batches."""
    import pyarrow as pa  # heavy: only when asked for
    import pyarrow.parquet as pq

    count = 0
    writer: Any = None
    schema: Any = None
    try:
        for batch in _batches(body, BATCH):
            columns = {name: [row[i] for row in batch] for i, name in enumerate(header)}
            if schema is None:
                schema = pa.schema(
                    [pa.field(name, _arrow_type(pa, values)) for name, values in columns.items()]
                )
                writer = pq.ParquetWriter(str(path), schema)
            writer.write_table(pa.table(columns, schema=schema))
            count += len(batch)
        if writer is None:
            schema = pa.schema([pa.field(name, pa.string()) for name in header])
            pq.write_table(schema.empty_table(), str(path))
    finally:
        if writer is not None:
            writer.close()
    return count


def _arrow_type(pa: Any, values: list[Any]) -> Any:
    kinds = {type(v) for v in values if v is not None}
    if kinds <= {int, bool} and kinds != {bool} and kinds:
        return pa.int64()
    if kinds <= {int, float} and kinds:
        return pa.float64()
    return pa.string()


def _batches(rows: Iterable[Sequence[Any]], size: int) -> Iterable[list[Sequence[Any]]]:
    batch: list[Sequence[Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def event_rows(
    session: Session, first: date, last: date, *, free_text: bool = False
) -> Iterable[list[Any]]:
    """One row per sign-up, text, vote, opt-out, report and status change in the range (with
    free_text, a report row also carries what the resident wrote)."""
    start, end = local_midnight(first), local_midnight(last + timedelta(days=1))
    names = rows.zone_names(session)
    who = Pseudonyms()
    extra: list[Any] = [""] if free_text else []
    erased = rows.erased_residents(session)

    def where(zone_id: int | None) -> list[str]:
        zone, macro = names.get(zone_id, ("", "")) if zone_id is not None else ("", "")
        return [zone, macro]

    for zone_id, language, consent, _left, signed in rows.signups(session, end, None):
        if signed not in erased and _within(consent, start, end):
            yield [
                "signup", _iso(consent), *where(zone_id), who(signed), language or "", "", *extra
            ]  # fmt: skip
    for actor, zone_id, at, channel in rows.activity(session, start, end, None):
        if actor not in erased:
            kind = "vote" if channel == "vote" else "text"
            channel = "" if kind == "vote" else channel
            yield [kind, _iso(at), *where(zone_id), who(actor), "", channel, *extra]
    for leaver, zone_id, at in rows.opt_outs(session, start, end, None):
        if leaver not in erased:
            yield ["opt_out", _iso(at), *where(zone_id), who(leaver), "", "", *extra]
    filed = rows.reports_with_reporter(session, start, end)
    texts = rows.report_texts(session, [r[0] for r in filed]) if free_text else {}
    for report_id, zone_id, category, _status, created, reporter in filed:
        if reporter not in erased:
            text = [texts.get(report_id) or ""] if free_text else []
            yield ["report", _iso(created), *where(zone_id), who(reporter), category, "", *text]
    kept = {r[0]: r for r in filed if r[5] not in erased}
    for report_id, status, source, at in rows.report_events(session, list(kept)):
        yield [f"report_{source}", _iso(at), *where(kept[report_id][1]), "", status, "", *extra]


def _within(moment: datetime, start: datetime, end: datetime) -> bool:
    return start <= utc(moment) < end


def _iso(moment: datetime) -> str:
    return utc(moment).isoformat()
