"""The fault suite's figures: one way of counting for every scenario, its JSON, and the table.

Every scenario counts the same things, here:

- messages we send (broadcasts and single messages), at the Twilio stand-in: how many had to
  go out, how many the stand-in accepted, how many recipients got one twice, how many never got
  theirs, how many were sent to residents who had opted out, and how many rows the database
  still calls ``unknown`` (or leaves ``pending``/``sending``) after reconciliation;
- texts residents send us, at the web app: how many distinct MessageSids, how many were
  applied (one stored row each), lost, applied twice or answered differently on a repeat, and
  how many requests got a 5xx or no answer at all.

Each scenario writes its figures to ``<results>/<scenario>-<database>.json`` (FAULTS_RESULTS_DIR,
else a directory under pytest's base temporary directory), and

    python -m tests.faults.figures DIR [--write docs/reliability.md]

turns those files into the Markdown table published in docs/reliability.md.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from storage.models import Delivery, OutboundMessage, ReceivedMessage

# Rows that are neither settled nor being settled: the sweeper or a job should have moved them.
STUCK = ("pending", "sending")


@dataclass
class Answer:
    """One HTTP request to the webhook and what came back (status 0: no answer at all)."""

    sid: str
    status: int
    body: bytes
    t: float  # time.monotonic() when the answer (or the failure) came


@dataclass
class Figures:
    """A scenario's figures on one database; the targets are all zeros but expected/sent."""

    scenario: str
    database: str
    title: str
    does: str  # what the scenario does, one or two sentences
    scale: str  # the scale used here
    issue_scale: str  # the scale issue #16 describes
    expected: int = 0  # messages that had to go out
    sent: int = 0  # creates the stand-in accepted (dropped and timed-out ones included)
    duplicated: int = 0  # extra copies: a recipient who got the same message n times counts n-1
    lost: int = 0  # messages that had to go out and never reached the stand-in
    unknown_before: int = 0  # rows 'unknown' before the final reconciliation pass
    unknown: int = 0  # rows still 'unknown' after it
    stuck: int = 0  # rows still 'pending' or 'sending' at the end
    to_opted_out: int = 0  # sends to residents after they opted out
    texts: int = 0  # distinct MessageSids residents sent
    requests: int = 0  # HTTP requests to the webhook (repeats included)
    applied: int = 0  # texts stored once, with their turn
    texts_lost: int = 0  # texts answered (or retried) and never stored
    texts_twice: int = 0  # texts applied twice, or a repeat answered differently
    http_5xx: int = 0
    no_answer: int = 0  # requests whose connection closed without an answer
    faults: dict[str, Any] = field(default_factory=dict)  # what was injected, as counted
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def misses(self) -> list[str]:
        """The targets this run missed, in words (empty when every target was met)."""
        targets = {
            "duplicated": self.duplicated,
            "lost": self.lost,
            "unknown after reconciliation": self.unknown,
            "stuck": self.stuck,
            "sent to opted-out residents": self.to_opted_out,
            "texts lost": self.texts_lost,
            "texts applied twice or answered differently": self.texts_twice,
            "5xx": self.http_5xx,
        }
        return [f"{name}: {value}" for name, value in targets.items() if value]

    def write(self, directory: Path) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{self.scenario}-{self.database}.json"
        path.write_text(json.dumps(asdict(self), indent=2, ensure_ascii=False) + "\n")
        return path


# -- messages we send ---------------------------------------------------------------------


def phone_of(to: str) -> str:
    return to.removeprefix("whatsapp:")


def count_sends(
    figures: Figures,
    requests: list[dict[str, Any]],
    expected: Iterable[tuple[str, str]],
    opted_out: Mapping[str, float | None] = {},  # noqa: B006 - read only
) -> None:
    """Count what the stand-in accepted against what had to go out.

    `expected` holds (phone, marker) pairs: every message of a scenario carries a marker of
    its own in its text (a broadcast's marker is the same for all its recipients), so a
    request belongs to the message whose marker its body contains. `opted_out` maps a phone
    to the time (time.monotonic(), the stand-in's clock) its opt-out was committed, or None
    for residents who had opted out before anything was sent: a send to them after that
    time counts against the target.
    """
    wanted = set(expected)
    markers = {marker for _, marker in wanted}
    copies: Counter[tuple[str, str]] = Counter()
    for request in requests:
        phone = phone_of(str(request.get("To", "")))
        body = str(request.get("Body", ""))
        marker = next((m for m in markers if m in body), body)
        copies[(phone, marker)] += 1
        if phone in opted_out:
            cutoff = opted_out[phone]
            if cutoff is None or request["t"] > cutoff:
                figures.to_opted_out += 1
    figures.expected = len(wanted)
    figures.sent = len(requests)
    figures.duplicated = sum(n - 1 for n in copies.values() if n > 1)
    figures.lost = sum(1 for key in wanted if copies[key] == 0)


def rows_in(sessions: sessionmaker[Session], statuses: Iterable[str]) -> int:
    """Deliveries and single messages whose status is one of `statuses`."""
    wanted = list(statuses)
    with sessions() as session:
        deliveries = session.scalar(
            select(func.count()).select_from(Delivery).where(Delivery.status.in_(wanted))
        )
        messages = session.scalar(
            select(func.count())
            .select_from(OutboundMessage)
            .where(OutboundMessage.status.in_(wanted))
        )
    return int(deliveries or 0) + int(messages or 0)


def count_leftovers(figures: Figures, sessions: sessionmaker[Session]) -> None:
    """After the final reconciliation: rows still unknown, and rows nothing moved on."""
    figures.unknown = rows_in(sessions, ["unknown"])
    figures.stuck = rows_in(sessions, STUCK)


# -- texts residents send us ----------------------------------------------------------------


def count_texts(
    figures: Figures, sessions: sessionmaker[Session], answers: list[Answer], misapplied: int = 0
) -> None:
    """Count texts against the rows stored for them.

    A text is applied when its MessageSid has its row (written in the turn's transaction, so a
    stored row means the turn happened, once: the row is unique per sid). A text counts twice
    when two successful answers to its sid differ (a repeat must get the first reply), or when
    the scenario's own check of the residents' state (`misapplied`) finds a turn applied again.
    """
    by_sid: dict[str, list[Answer]] = {}
    for answer in answers:
        by_sid.setdefault(answer.sid, []).append(answer)
    stored: Counter[str] = Counter()
    sids = list(by_sid)
    with sessions() as session:
        for start in range(0, len(sids), 500):
            batch = sids[start : start + 500]
            stored.update(
                session.scalars(select(ReceivedMessage.sid).where(ReceivedMessage.sid.in_(batch)))
            )
    differing = 0
    for replies in by_sid.values():
        bodies = {a.body for a in replies if a.status == 200}
        differing += len(bodies) > 1
    figures.texts = len(by_sid)
    figures.requests = len(answers)
    figures.applied = sum(1 for sid in sids if stored[sid] >= 1)
    figures.texts_lost = sum(1 for sid in sids if stored[sid] == 0)
    figures.texts_twice = sum(n - 1 for n in stored.values() if n > 1) + differing + misapplied
    figures.http_5xx = sum(1 for a in answers if a.status >= 500)
    figures.no_answer = sum(1 for a in answers if a.status == 0)


# -- the table ------------------------------------------------------------------------------

COLUMNS = (
    "scenario",
    "database",
    "messages expected",
    "sent",
    "duplicated",
    "lost",
    "unknown: before / after reconciliation",
    "stuck",
    "to opted-out",
    "texts (requests)",
    "applied",
    "texts lost / twice",
    "5xx",
    "no answer",
    "time",
)


def load(directory: Path) -> list[Figures]:
    order = {name: i for i, name in enumerate(SCENARIOS)}
    found = [Figures(**json.loads(p.read_text())) for p in sorted(directory.glob("*.json"))]
    databases = {name: i for i, name in enumerate(DATABASES)}
    return sorted(
        found,
        key=lambda f: (order.get(f.scenario, 99), f.scenario, databases.get(f.database, 9)),
    )


# The order scenarios appear in (issue #16's order).
SCENARIOS = (
    "redis-restart",
    "postgres-kill",
    "sigkill",
    "twilio-faults",
    "replay",
    "opt-out",
)
DATABASES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


def _n(value: int, applies: bool = True) -> str:
    return f"{value:,}" if applies else "–"


def row(f: Figures) -> list[str]:
    sends = f.expected > 0 or f.sent > 0
    texts = f.texts > 0
    return [
        f.title,
        DATABASES.get(f.database, f.database),
        _n(f.expected, sends),
        _n(f.sent, sends),
        _n(f.duplicated, sends),
        _n(f.lost, sends),
        f"{f.unknown_before:,} / {f.unknown:,}" if sends else "–",
        _n(f.stuck, sends),
        _n(f.to_opted_out, sends),
        f"{f.texts:,} ({f.requests:,})" if texts else "–",
        _n(f.applied, texts),
        f"{f.texts_lost:,} / {f.texts_twice:,}" if texts else "–",
        _n(f.http_5xx, texts),
        _n(f.no_answer, texts),
        f"{f.seconds:.0f} s",
    ]


def table(figures: list[Figures]) -> str:
    lines = [
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "|".join(["---", "---"] + ["--:"] * (len(COLUMNS) - 2)) + "|",
    ]
    lines += ["| " + " | ".join(row(f)) + " |" for f in figures]
    return "\n".join(lines)


def scales(figures: list[Figures]) -> str:
    """The scale each scenario ran at here, beside the scale issue #16 describes."""
    lines = ["| scenario | here | issue #16 |", "|---|---|---|"]
    seen: set[str] = set()
    for f in figures:
        if f.scenario not in seen:
            seen.add(f.scenario)
            lines.append(f"| {f.title} | {f.scale} | {f.issue_scale} |")
    return "\n".join(lines)


def scenarios(figures: list[Figures]) -> str:
    """What each scenario does, and the faults counted on each database."""
    out: list[str] = []
    for name in dict.fromkeys(f.scenario for f in figures):
        runs = [f for f in figures if f.scenario == name]
        out.append(f"- **{runs[0].title}** ({name}). {runs[0].does}")
        for f in runs:
            injected = ", ".join(f"{k}: {v}" for k, v in f.faults.items())
            out.append(f"  {DATABASES.get(f.database, f.database)}: {injected or 'none'}.")
    return "\n".join(out)


def run_times(figures: list[Figures]) -> str:
    """How long the scenarios took on each database, added up."""
    totals: dict[str, float] = {}
    for f in figures:
        totals[f.database] = totals.get(f.database, 0.0) + f.seconds
    return ", ".join(
        f"{DATABASES.get(db, db)} {seconds / 60:.1f} min ({seconds:.0f} s)"
        for db, seconds in totals.items()
    )


def misses(figures: list[Figures]) -> str:
    found = [
        f"- {f.title} ({DATABASES.get(f.database, f.database)}): " + "; ".join(f.misses())
        for f in figures
        if f.misses()
    ]
    return "\n" + "\n".join(found) if found else "none."


BEGIN = "<!-- figures:begin -->"
END = "<!-- figures:end -->"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("directory", type=Path, help="where the scenarios wrote their JSON")
    parser.add_argument(
        "--write",
        type=Path,
        help=f"replace what lies between {BEGIN} and {END} in this file with the table",
    )
    args = parser.parse_args(argv)
    figures = load(args.directory)
    if not figures:
        print(f"no figures in {args.directory}", file=sys.stderr)
        return 2
    text = (
        table(figures)
        + "\n\nThe scenarios' run time, added up per database: "
        + run_times(figures)
        + ".\n\nScale, here and in the issue:\n\n"
        + scales(figures)
        + "\n\nWhat each scenario does, and the faults counted in the run:\n\n"
        + scenarios(figures)
        + "\n\nMissed targets: "
        + misses(figures)
        + "\n"
    )
    print(text)
    if args.write is not None:
        doc = args.write.read_text()
        if BEGIN not in doc or END not in doc:
            print(f"{args.write} has no {BEGIN} ... {END} block", file=sys.stderr)
            return 2
        head, rest = doc.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        args.write.write_text(head + BEGIN + "\n" + text + END + tail)
    return 1 if any(f.misses() for f in figures) else 0


if __name__ == "__main__":
    sys.exit(main())
