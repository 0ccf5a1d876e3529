"""`mibarrio i18n ...`: the Spanish and Aymara catalogs and the translators' review."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from bot.i18n import console
from bot.i18n.catalogs import check, compile_all, update, write_pot
from bot.i18n.cost import cost_markdown
from bot.i18n.review import ReviewFileError, export_review, import_review


@click.group()
def i18n() -> None:
    """Spanish and Aymara catalogs (residents), and the console's Spanish catalog (staff)."""


@i18n.command("extract")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write the template (default bot/locales/messages.pot).",
)
def i18n_extract(output: Path | None) -> None:
    """Write the message template (.pot) from the N_() calls in bot/ (mapping in babel.cfg),
    and the console's (console.pot) from _() in bot/admin (babel-console.cfg)."""

    path, count = write_pot(output)
    click.echo(f"{count} messages -> {path}")
    path, count = console.write_pot()
    click.echo(f"{count} console texts -> {path}")


@i18n.command("update")
def i18n_update() -> None:
    """Merge the code's messages into es and ay (new ones empty in ay, changed ones fuzzy)."""

    write_pot()
    result = update()
    for lang in result.added:
        click.echo(
            f"{lang}: {result.added[lang]} new, {result.fuzzy[lang]} to review "
            f"(the Spanish changed), {result.dropped[lang]} no longer used"
        )
    console.write_pot()
    done = console.update()
    click.echo(f"console: {done.added} new, {done.dropped} no longer used")
    click.echo("next: translate/review (mibarrio i18n export-review), then mibarrio i18n check")


@i18n.command("compile")
def i18n_compile() -> None:
    """Compile the .po catalogs to .mo files."""

    for path in [*compile_all(), console.compile_mo()]:
        click.echo(f"compiled {path}")


@i18n.command("check")
def i18n_check() -> None:
    """Fail on missing or fuzzy translations, placeholder mismatches, a lost plural header,
    and Aymara that does not follow the glossary (bot/i18n/glossary.py); for the console's
    Spanish-only catalog, texts it lacks."""

    problems = check() + console.check()
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        click.echo(f"{len(problems)} problem(s)", err=True)
        sys.exit(1)
    click.echo("catalogs ok")


@i18n.command("export-review")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def i18n_export_review(file: Path) -> None:
    """Write a CSV for translators: msgid, es, ay, SMS segments, where shown, glossary, status."""

    count = export_review(file)
    click.echo(
        f"{count} messages -> {file}. Edit the es, ay and status columns only (status: draft, "
        "reviewed, needs review); keep every {placeholder}; then mibarrio i18n import-review."
    )


@i18n.command("import-review")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Report what would change; write nothing.")
def i18n_import_review(file: Path, dry_run: bool) -> None:
    """Merge an edited review CSV back; rows that break placeholders or are unknown are refused."""

    try:
        result = import_review(file, dry_run=dry_run)
    except ReviewFileError as exc:
        raise click.ClickException(str(exc)) from exc
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    for refused in result.refused:
        click.echo(f"refused: {refused}", err=True)
    verb = "would change" if dry_run else "changed"
    click.echo(
        f"{verb} {result.changed}, unchanged {result.unchanged}, refused {len(result.refused)}"
    )
    if result.refused:
        sys.exit(1)


@i18n.command("cost")
@click.option(
    "--write",
    "target",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the table there (docs/sms-cost.md) instead of printing it.",
)
def i18n_cost(target: Path | None) -> None:
    """The SMS segments and characters of every message in es and ay, as a Markdown table."""

    text = cost_markdown()
    if target is None:
        click.echo(text, nl=False)
        return
    target.write_text(text, encoding="utf-8")
    click.echo(f"wrote {target}")
