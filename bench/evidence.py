"""Evidence at city scale: rollup build, a measure over a year, before/after, the CSV export.

    .venv/bin/python bench/evidence.py --database-url postgresql://postgres@127.0.0.1/demo_rollups
        [--rebuild] [--repeat 3] [--late 1000] [--out DIR]

Run it on a copy of `mibarrio seed --demo-city` migrated to head. Steps:

1. with --rebuild: `rollups.rebuild` from scratch, timed (one transaction);
2. the year: the last 364 whole La Paz days with texts (52 weeks, Monday to Sunday);
3. timed (best and median of --repeat, warm): every measure for the city over the year; for a
   macrodistrito and a zona over the year; before/after a date in the middle (28 days each
   side) for the city, a macrodistrito and a zona; the city's 52 weekly series;
4. the full-year CSV export of the weekly measures (city, every macrodistrito, every zona);
5. --late N: N texts stamped in days already counted, then one refresh (what the worker
   does), timed, and the year's city figures compared with the raw count of the event tables
   for one week (the raw count of a whole year at this scale takes minutes).

Prints a Markdown table with PASS/FAIL against the targets (1 s, 10 s), writes
bench/results/evidence.json. Exit status 0 when every target passes.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select

from bot.evidence.compare import before_after
from bot.evidence.export import flatten, places, write_csv
from bot.evidence.measures import (
    CITY,
    local_midnight,
    measures,
    periods,
    place,
    rollup_series_many,
    series,
)
from storage import rollups
from storage.db import make_engine, make_sessionmaker, transaction
from storage.models import (
    Macrodistrict,
    ReceivedMessage,
    Resident,
    Zone,
)

ONE_SECOND = 1.0
TEN_SECONDS = 10.0


def timed(work: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    """(best, median) seconds over `repeat` runs, and the last result."""
    times = []
    result = None
    for _ in range(repeat):
        started = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - started)
    return min(times), statistics.median(times), result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--late", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    args = parser.parse_args()

    engine = make_engine(args.database_url)
    sessions = make_sessionmaker(engine)
    figures: dict[str, Any] = {
        "database": engine.dialect.name,
        "machine": f"{platform.machine()} {platform.node()}",
    }
    rows: list[tuple[str, float, float, float | None]] = []

    with sessions() as session:
        figures["residents"] = session.scalar(select(func.count()).select_from(Resident))
        figures["texts"] = session.scalar(select(func.count()).select_from(ReceivedMessage))
        last_text = session.scalar(select(func.max(ReceivedMessage.received_at)))
    print(f"{figures['residents']:,} residents, {figures['texts']:,} texts", flush=True)

    if args.rebuild:
        started = time.perf_counter()
        with transaction(sessions) as session:
            rollups.rebuild(session)
        figures["rebuild_seconds"] = round(time.perf_counter() - started, 1)
        print(f"rebuild: {figures['rebuild_seconds']} s", flush=True)

    assert last_text is not None, "no texts: seed the city first"
    last_day = rollups.local_day(last_text)
    end = last_day - timedelta(days=last_day.weekday())  # the Monday after the last full week
    first = end - timedelta(days=364)
    pivot = first + timedelta(days=182 - (first + timedelta(days=182)).weekday())
    figures["year"] = [first.isoformat(), (end - timedelta(days=1)).isoformat()]
    start_at, end_at = local_midnight(first), local_midnight(end)

    with sessions() as session:
        assert rollups.built(session), "build the rollups first (--rebuild)"
        macro_name = session.scalars(select(Macrodistrict.name).order_by(Macrodistrict.id)).first()
        zone_name = session.scalars(select(Zone.name).order_by(Zone.id)).first()
        macro = place(session, macro=macro_name)
        zone = place(session, zone=zone_name)
        cases: list[tuple[str, Callable[[], Any], float | None]] = [
            ("city, every measure, one year", lambda: measures(session, CITY, start_at, end_at),
             ONE_SECOND),
            (f"macrodistrito ({macro_name}), one year",
             lambda: measures(session, macro, start_at, end_at), ONE_SECOND),
            (f"zona ({zone_name}), one year",
             lambda: measures(session, zone, start_at, end_at), ONE_SECOND),
            ("city, before/after 28 days", lambda: before_after(session, CITY, pivot),
             ONE_SECOND),
            ("macrodistrito, before/after 28 days", lambda: before_after(session, macro, pivot),
             ONE_SECOND),
            ("zona, before/after 28 days", lambda: before_after(session, zone, pivot),
             ONE_SECOND),
            ("city, 52 weekly series", lambda: series(session, CITY, first,
                                                        end - timedelta(days=1)), None),
        ]  # fmt: skip
        for name, work, target in cases:
            best, median, result = timed(work, args.repeat)
            rows.append((name, best, median, target))
            print(f"{name}: best {best:.3f} s, median {median:.3f} s", flush=True)
            if name.startswith("city, every"):
                figures["city_year"] = {
                    k: v for k, v in flatten(result).items() if not k.startswith("place")
                }

        def export() -> int:
            spans = periods(first, end - timedelta(days=1), "week")
            table = [
                flatten(f)
                for place_series in rollup_series_many(session, places(session), spans)
                for f in place_series
            ]
            header: list[str] = []
            for flat in table:
                header += [k for k in flat if k not in header]
            with tempfile.TemporaryDirectory() as tmp:
                return write_csv(
                    Path(tmp) / "measures.csv", header, ([f.get(k) for k in header] for f in table)
                )

        best, median, written = timed(export, args.repeat)
        rows.append((f"full-year CSV of weekly measures ({written:,} rows)", best, median,
                     TEN_SECONDS))  # fmt: skip
        print(f"export: {written} rows, best {best:.3f} s", flush=True)

    if args.late:
        with sessions() as session:
            residents = list(
                session.scalars(
                    select(Resident.id).where(Resident.consent_at.is_not(None)).limit(args.late)
                )
            )
        moment = local_midnight(pivot) + timedelta(hours=15)
        with transaction(sessions) as session:
            session.execute(
                insert(ReceivedMessage),
                [
                    {"sid": "SMbench" + uuid.uuid4().hex, "resident_id": rid, "channel": "sms",
                     "body": None, "received_at": moment}
                    for rid in residents
                ],
            )  # fmt: skip
        started = time.perf_counter()
        with transaction(sessions) as session:
            done = rollups.refresh(session)
        refresh_s = time.perf_counter() - started
        figures["late_refresh"] = {
            "texts": len(residents),
            "seconds": round(refresh_s, 2),
            "residents": done.residents,
            "days": done.days,
        }
        print(f"refresh after {len(residents)} late texts: {refresh_s:.2f} s", flush=True)
        started = time.perf_counter()
        with transaction(sessions) as session:
            rollups.refresh(session)
        figures["idle_refresh_seconds"] = round(time.perf_counter() - started, 2)
        week = (local_midnight(pivot), local_midnight(pivot + timedelta(days=7)))
        with sessions() as session:
            rolled = measures(session, CITY, *week, source="rollups")
            started = time.perf_counter()
            raw = measures(session, CITY, *week, source="raw")
            figures["raw_week_seconds"] = round(time.perf_counter() - started, 1)
        figures["late_week_equal_to_raw"] = rolled == raw
        print(f"week after late texts: rollups == raw: {rolled == raw}", flush=True)
        if rolled != raw:
            diffs = {
                k: (v, flatten(raw).get(k))
                for k, v in flatten(rolled).items()
                if flatten(raw).get(k) != v
            }
            figures["late_week_differences"] = diffs
            print(diffs)

    print()
    print("| what | best (s) | median (s) | target | |")
    print("|---|---:|---:|---:|---|")
    ok = True
    for name, best, median, target in rows:
        verdict = "" if target is None else ("PASS" if median <= target else "FAIL")
        ok = ok and verdict != "FAIL"
        shown = "–" if target is None else f"≤ {target:g} s"
        print(f"| {name} | {best:.3f} | {median:.3f} | {shown} | {verdict} |")
    figures["timings"] = [
        {"what": n, "best": round(b, 3), "median": round(m, 3), "target": t} for n, b, m, t in rows
    ]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "evidence.json").write_text(
        json.dumps(figures, indent=2, default=str, ensure_ascii=False), encoding="utf-8"
    )
    return 0 if ok and figures.get("late_week_equal_to_raw", True) else 1


if __name__ == "__main__":
    sys.exit(main())
