"""`mibarrio info`: the zona information residents read with INFO, kept by staff."""

from __future__ import annotations

import csv
import json
import sys
from datetime import timedelta
from pathlib import Path

import click

from bot import actions
from bot.commands.common import open_database
from bot.flows.info import too_long
from storage import info as info_store
from storage.db import transaction
from storage.models import INFO_CATEGORIES, InfoItem, aware, utcnow


def _check_fits(text_es: str, text_ay: str | None) -> None:
    for option, text in (("--es", text_es), ("--ay", text_ay or "")):
        if text.strip() and too_long(text.strip()):
            raise click.BadParameter(
                f"too long for one SMS ({len(text.strip())} characters)", param_hint=option
            )


def _row(item: InfoItem, stale_before: object) -> dict[str, object]:
    return {
        "id": item.id,
        "category": item.category,
        "scope": info_store.scope_of(item),
        "text_es": item.text_es,
        "text_ay": item.text_ay,
        "checked_on": aware(item.checked_at).date().isoformat(),
        "stale": aware(item.checked_at) < stale_before,  # type: ignore[operator]
    }


@click.group("info")
def info() -> None:
    """Zona information (health post, school, market days...) residents read with INFO."""


@info.command("add")
@click.option("--category", required=True, type=click.Choice(INFO_CATEGORIES))
@click.option("--to", "scope", required=True, help="all, zona:NAME or macro:NAME")
@click.option("--es", "text_es", required=True)
@click.option("--ay", "text_ay", default=None, help="Aymara text (the Spanish is shown if none)")
def info_add(category: str, scope: str, text_es: str, text_ay: str | None) -> None:
    """Add an item, checked today; each text must fit one SMS as residents get it (audited)."""
    _check_fits(text_es, text_ay)
    _, sessions = open_database()
    with transaction(sessions) as session:
        try:
            resolved = info_store.resolve_scope(session, scope)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--to") from exc
        item = actions.add_info(
            session, category=category, place=resolved, text_es=text_es, text_ay=text_ay
        )
        click.echo(item.id)


@info.command("remove")
@click.argument("item_id", type=int)
def info_remove(item_id: int) -> None:
    """Delete an item: residents no longer read it (the audit log keeps its texts)."""
    _, sessions = open_database()
    with transaction(sessions) as session:
        item = session.get(InfoItem, item_id)
        if item is None:
            raise click.ClickException(f"no item {item_id}")
        summary = (
            f"removed {item.id} ({item.category}, {info_store.scope_of(item)}): {item.text_es}"
        )
        actions.remove_info(session, item)
    click.echo(summary)


@info.command("list")
@click.option("--stale", is_flag=True, help="Only items not checked for INFO_STALE_DAYS.")
@click.option("--json", "as_json", is_flag=True)
def info_list(stale: bool, as_json: bool) -> None:
    """Every item with the day it was last checked; --stale: those to check again."""
    config, sessions = open_database()
    before = utcnow() - timedelta(days=config.info_stale_days)
    with sessions() as session:
        items = info_store.list_items(session, checked_before=before if stale else None)
        rows = [_row(item, before) for item in items]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        flag = "  STALE" if row["stale"] else ""
        click.echo(
            f"{row['id']:>5}  {row['category']:<11} {row['scope']:<28} "
            f"{row['checked_on']}{flag}  {row['text_es']}"
        )
    if not rows:
        click.echo("no stale items" if stale else "no items")


@info.command("export")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def info_export(file: Path) -> None:
    """Write every item to a CSV file ("-" for standard output), to edit and import back."""
    _, sessions = open_database()
    with sessions() as session:
        if str(file) == "-":
            count = info_store.export_csv(session, sys.stdout)
        else:
            with file.open("w", encoding="utf-8", newline="") as out:
                count = info_store.export_csv(session, out)
    click.echo(f"{count} items", err=True)


@info.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def info_import(file: Path) -> None:
    """Read a CSV file (the export's columns): rows with an id update that item, rows without
    one are added. All or nothing: one bad row and nothing changes."""
    with file.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    _, sessions = open_database()
    try:
        with transaction(sessions) as session:
            added, updated = actions.import_info(session, rows, via="cli")
    except actions.Refused as exc:
        raise click.ClickException(f"{exc}; nothing was imported") from exc
    click.echo(f"{added} added, {updated} updated")


COMMANDS = (info,)
