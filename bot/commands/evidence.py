"""`mibarrio evidence`: the printable summary of a macrodistrito, exports, and the rollups."""

from __future__ import annotations

import json
import time
from datetime import date, timedelta
from pathlib import Path

import click

from bot.commands.common import open_database
from bot.evidence.export import FORMATS
from bot.evidence.export import export as write_export
from bot.evidence.measures import UnknownPlace, local_midnight, measures, place
from bot.evidence.summary import summary_html
from storage import rollups
from storage.db import transaction


def _date(_ctx: click.Context, param: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter("a date like 2026-11-30", param=param) from exc


def _range(first: date | None, last: date | None) -> tuple[date, date]:
    last = last or date.today()
    first = first or last - timedelta(weeks=12) + timedelta(days=1)
    if first > last:
        raise click.BadParameter("--from is after --to")
    return first, last


@click.group()
def evidence() -> None:
    """Measures for decisions: per zona, macrodistrito and city, over any dates."""


@evidence.command()
@click.option("--macro", required=True, help="The macrodistrito, e.g. Cotahuma.")
@click.option("--from", "first", callback=_date, help="First day (La Paz), YYYY-MM-DD.")
@click.option("--to", "last", callback=_date, help="Last day (La Paz), inclusive.")
@click.option("--html", "html_file", type=click.Path(dir_okay=False, path_type=Path))
def summary(macro: str, first: date | None, last: date | None, html_file: Path | None) -> None:
    """One page on a macrodistrito against the city: JSON, or printable HTML with --html."""
    first, last = _range(first, last)
    _config, sessions = open_database()
    with sessions() as session:
        try:
            where = place(session, macro=macro)
        except UnknownPlace as exc:
            raise click.BadParameter(f"no macrodistrito {macro!r}", param_hint="--macro") from exc
        if html_file is not None:
            html_file.write_text(summary_html(session, where, first, last), encoding="utf-8")
            click.echo(f"wrote {html_file}")
            return
        start, end = local_midnight(first), local_midnight(last + timedelta(days=1))
        click.echo(json.dumps(measures(session, where, start, end), indent=2, ensure_ascii=False))


@evidence.command()
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="csv", show_default=True)
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--from", "first", callback=_date, help="First day (La Paz), YYYY-MM-DD.")
@click.option("--to", "last", callback=_date, help="Last day (La Paz), inclusive.")
@click.option("--step", type=click.Choice(["week", "month"]), default="week", show_default=True)
@click.option(
    "--free-text", is_flag=True, help="Add what residents wrote on reports (staff use only)."
)
def export(
    fmt: str, out_dir: Path, first: date | None, last: date | None, step: str, free_text: bool
) -> None:
    """The measures per place and week (or month), and anonymised event rows, as CSV
    (UTF-8 with BOM) or Parquet. Runs here; the console runs big ones in the worker."""
    first, last = _range(first, last)
    _config, sessions = open_database()
    with transaction(sessions) as session:
        if rollups.built(session):
            rollups.refresh(session)  # the export counts what happened up to now
    with sessions() as session:
        written = write_export(session, out_dir, first, last, step, fmt, free_text=free_text)
    for name, count in written.items():
        click.echo(f"{out_dir / name}: {count} rows")


@evidence.command()
def rebuild() -> None:
    """Count the rollups again from the event tables (the worker keeps them current after)."""
    _config, sessions = open_database()
    started = time.perf_counter()
    with transaction(sessions) as session:
        done = rollups.rebuild(session)
    click.echo(f"rollups rebuilt in {time.perf_counter() - started:.1f} s ({done.reports} reports)")


@evidence.command()
def refresh() -> None:
    """Count what changed since the last refresh (what the worker does every minute)."""
    _config, sessions = open_database()
    started = time.perf_counter()
    with transaction(sessions) as session:
        done = rollups.refresh(session)
    what = (
        "rebuilt"
        if done.rebuilt
        else f"{done.residents} residents, {done.days} days, {done.reports} reports, "
        f"{done.broadcasts} broadcasts, {done.polls} polls recounted"
    )
    click.echo(f"rollups: {what} in {time.perf_counter() - started:.1f} s")


COMMANDS = (evidence,)
