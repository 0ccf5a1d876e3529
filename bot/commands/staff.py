"""Commands for municipal staff: follow reports, create polls, publish news."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import click
from sqlalchemy import select

from bot import actions
from bot.commands import broadcasts as broadcast_cli
from bot.commands.common import open_database, resolve_target
from storage import polls as poll_store
from storage import reports as report_store
from storage.db import transaction
from storage.enums import ReportStatus
from storage.models import (
    REPORT_STATUSES,
    Poll,
    Report,
    Zone,
    aware,
    utcnow,
)


def parse_duration(text: str) -> timedelta:
    """'3d', '12h', '90m' -> a timedelta."""
    match = re.fullmatch(r"\s*(\d+)\s*([dhm])\s*", text.lower())
    if not match:
        raise click.BadParameter("use a number and d, h or m, e.g. 3d, 12h, 90m")
    amount, unit = int(match.group(1)), match.group(2)
    return {
        "d": timedelta(days=amount),
        "h": timedelta(hours=amount),
        "m": timedelta(minutes=amount),
    }[unit]


# --- reports -----------------------------------------------------------------------------


@click.group("reports")
def reports() -> None:
    """Residents' reports: list them and move them through their statuses."""


def _report_row(report: Report, zone_names: dict[int, str]) -> dict[str, Any]:
    return {
        "code": report.code,
        "zone": zone_names.get(report.zone_id or 0),
        "category": report.category,
        "status": report.status,
        "supporters": len(report.supporters),
        "description": report.description,
        "location": report.location,
        "latitude": report.latitude,
        "longitude": report.longitude,
        "media_url": report.media_url,
        "created_at": aware(report.created_at).isoformat(),
        "note": report.status_note,
    }


@reports.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.option("--status", type=click.Choice([*REPORT_STATUSES, "in-progress"]), default=None)
def reports_list(as_json: bool, status: str | None) -> None:
    """Reports, newest first, with code, zona, category, status and supporters."""
    status = status.replace("-", "_") if status else None
    _, sessions = open_database()
    with sessions() as session:
        query = select(Report).order_by(Report.created_at.desc(), Report.id.desc())
        if status:
            query = query.where(Report.status == status)
        zone_names = {z.id: z.name for z in session.scalars(select(Zone))}
        rows = [_report_row(r, zone_names) for r in session.scalars(query)]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False))
        return
    for row in rows:
        click.echo(
            f"{row['code']}  {row['status']:<11} {row['category']:<10} "
            f"{row['zone'] or '-':<20} +{row['supporters']}  {row['description'] or ''}"
        )


@reports.command("set-status")
@click.argument("code")
@click.argument("status", type=click.Choice([*REPORT_STATUSES, "in-progress"]))
@click.option("--note", default=None, help="Shown to the reporter and supporters.")
def reports_set_status(code: str, status: str, note: str | None) -> None:
    """Move a report to a new status; the reporter and supporters are told in their language."""
    if status == ReportStatus.REJECTED and not note:
        raise click.UsageError("a rejected report needs --note saying why")
    config, sessions = open_database()
    with transaction(sessions) as session:
        report = report_store.find_report(session, code)
        if report is None:
            raise click.ClickException(f"no report {code!r}")
        try:
            told = actions.change_report_status(session, config, report, status, note)
        except actions.Refused as exc:
            raise click.UsageError(str(exc)) from exc
        code, status = report.code, report.status
    click.echo(f"{code} is now {status}; {told} resident(s) will be told")


# --- polls -------------------------------------------------------------------------------


@click.group("poll")
def poll() -> None:
    """Polls for the city, a macrodistrito or zonas."""


def _split_option(text: str) -> tuple[str, str]:
    try:
        return actions.parse_option(text)
    except actions.Refused as exc:
        raise click.BadParameter(str(exc), param_hint="--option") from exc


@poll.command("create")
@click.option("--to", "target", required=True, help="all, zona:NAME, macro:NAME (comma-separated)")
@click.option("--question-es", required=True)
@click.option("--question-ay", required=True)
@click.option("--option", "options", multiple=True, required=True, help='"ES|AY", repeat 2-9 times')
@click.option("--closes-in", default=None, help="e.g. 3d, 12h; open until closed otherwise")
@click.option(
    "--broadcast",
    "send",
    is_flag=True,
    help="Also send it as an invitation (residents answer with the option's number).",
)
@click.option("--urgent", is_flag=True, help="With --broadcast: send even in quiet hours.")
def poll_create(
    target: str,
    question_es: str,
    question_ay: str,
    options: tuple[str, ...],
    closes_in: str | None,
    send: bool,
    urgent: bool,
) -> None:
    """Create a poll; prints its id (and, with --broadcast, the invitation's id and cost)."""
    labels = [_split_option(o) for o in options]
    closes_at = utcnow() + parse_duration(closes_in) if closes_in else None
    config, sessions = open_database()
    with transaction(sessions) as session:
        resolved = resolve_target(session, target)
        try:
            created = actions.create_poll(
                session,
                target=resolved,
                question_es=question_es,
                question_ay=question_ay,
                options=labels,
                closes_at=closes_at,
            )
        except actions.Refused as exc:
            raise click.UsageError(str(exc)) from exc
        for lang, cost in actions.question_segments(created).items():
            if cost > 1:
                click.echo(f"warning: the {lang} question costs {cost} SMS per resident", err=True)
        poll_id = created.id
        summary = None
        if send:
            try:
                invitation = actions.invite_to_poll(session, config, created, urgent=urgent)
            except ValueError as exc:
                raise click.UsageError(f"nothing was sent: {exc}") from exc
            summary = broadcast_cli.describe(session, config, invitation)
    click.echo(poll_id)
    if summary:
        click.echo(summary)


@poll.command("results")
@click.argument("poll_id", type=int)
@click.option("--json", "as_json", is_flag=True)
def poll_results(poll_id: int, as_json: bool) -> None:
    """Current results: one vote per resident, with turnout."""
    _, sessions = open_database()
    with sessions() as session:
        found = session.get(Poll, poll_id)
        if found is None:
            raise click.ClickException(f"no poll {poll_id}")
        res = poll_store.results(session, found)
        data: dict[str, Any] = {
            "id": found.id,
            "question": found.question_es,
            "target": found.target,
            "open": found.is_open(utcnow()),
            "votes": res.votes,
            "eligible": res.eligible,
            "turnout": round(res.turnout, 4),
            "options": [
                {"position": o.position, "label": o.label_es, "votes": n} for o, n in res.counts
            ],
        }
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False))
        return
    click.echo(f"#{data['id']} {data['question']} ({data['target']})")
    for option in data["options"]:
        click.echo(f"  {option['position']}. {option['label']}: {option['votes']}")
    click.echo(f"  {data['votes']} of {data['eligible']} residents voted ({data['turnout']:.0%})")


# --- news --------------------------------------------------------------------------------


@click.group("news")
def news() -> None:
    """Neighbourhood news residents read with 3 in the menu."""


@news.command("add")
@click.option("--to", "target", required=True, help="all, zona:NAME, macro:NAME (comma-separated)")
@click.option("--es", "text_es", required=True)
@click.option("--ay", "text_ay", required=True)
def news_add(target: str, text_es: str, text_ay: str) -> None:
    """Publish a news item in both languages; each must fit one SMS."""
    _, sessions = open_database()
    with transaction(sessions) as session:
        resolved = resolve_target(session, target)
        try:
            item = actions.publish_news(session, target=resolved, text_es=text_es, text_ay=text_ay)
        except actions.TooLong as exc:
            raise click.BadParameter(str(exc), param_hint=f"--{exc.lang}") from exc
        except actions.Refused as exc:
            raise click.UsageError(str(exc)) from exc
        item_id = item.id
    click.echo(item_id)


COMMANDS = (reports, poll, news, *broadcast_cli.COMMANDS)
