"""The `mibarrio` command group: database, seed data, chat, stats, and running the services."""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import click
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import Session, sessionmaker

from bot import channels
from bot.config import Config
from bot.console import open_database

log = logging.getLogger(__name__)


def _sessions(config: Config) -> sessionmaker[Session]:
    return open_database(config)[1]


class _Commands(click.Group):
    """Turns a database that was never migrated into one clear line instead of a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (OperationalError, ProgrammingError) as exc:
            text = str(exc.orig).lower()
            if "no such table" in text or ("relation" in text and "does not exist" in text):
                raise click.ClickException(
                    "the database has no tables yet: run `mibarrio db upgrade` (or `make run`)"
                ) from exc
            raise


@click.group(cls=_Commands)
@click.option("-v", "--verbose", is_flag=True, help="Log at DEBUG level.")
def main(verbose: bool) -> None:
    """Mi Barrio: neighbourhood participation over SMS and WhatsApp."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stderr,
    )


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply migrations (creates the SQLite file under instance/ by default)."""
    from storage.migrate import upgrade

    config = Config.from_env()
    upgrade(config.database_url, revision)
    click.echo("database is up to date")


@main.command()
@click.option(
    "--demo-residents",
    type=click.IntRange(min=0),
    default=0,
    help="Also make sure N synthetic onboarded residents exist.",
)
def seed(demo_residents: int) -> None:
    """Load La Paz macrodistritos and zonas (idempotent), and optional demo residents."""
    from storage.db import transaction
    from storage.seed import seed_demo_residents, seed_zones

    config = Config.from_env()
    with transaction(_sessions(config)) as session:
        macros, zones = seed_zones(session)
        residents = seed_demo_residents(session, demo_residents) if demo_residents else 0
    click.echo(f"added {macros} macrodistritos, {zones} zonas, {residents} demo residents")


@main.command()
@click.option("--phone", required=True, help="The resident's number, E.164 (+5917...).")
@click.option("--channel", type=click.Choice(["sms", "whatsapp"]), default="sms", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON line per input.")
def chat(phone: str, channel: str, as_json: bool) -> None:
    """Talk to the bot from the terminal: stdin lines in, the bot's replies out."""
    from bot.engine import InboundMessage
    from bot.inbox import receive
    from storage.broadcasts import QuietHours

    try:
        phone, _ = channels.parse_address(phone)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--phone") from exc
    config = Config.from_env()
    sessions = _sessions(config)
    timeout = timedelta(minutes=config.flow_timeout_minutes)
    hours = QuietHours.parse(config.quiet_hours)
    for line in sys.stdin:
        text = line.rstrip("\r\n")
        msg = InboundMessage(phone=phone, channel=channel, body=text)
        sid = "CH" + uuid.uuid4().hex
        replies = receive(
            sessions,
            sid,
            msg,
            fold=config.gsm7_fold,
            flow_timeout=timeout,
            quiet_hours=hours,
            async_navigation=config.async_navigation_commits,
        )
        if as_json:
            click.echo(
                json.dumps(
                    {
                        "input": text,
                        "replies": replies,
                        "segments": [channels.segments(r) for r in replies]
                        if channel == "sms"
                        else [1 for _ in replies],
                    },
                    ensure_ascii=False,
                )
            )
        else:
            for reply in replies:
                click.echo(f"< {reply}")


@main.command()
@click.option("--json", "as_json", is_flag=True)
def stats(as_json: bool) -> None:
    """Participation figures: residents, opt-outs, residents per zona."""
    from storage.queries import stats as compute

    config = Config.from_env()
    with _sessions(config)() as session:
        figures = compute(session)
    if as_json:
        click.echo(json.dumps(figures, ensure_ascii=False, sort_keys=True))
        return
    click.echo(
        f"residents: {figures['residents']}  opted out: {figures['opted_out']}  "
        f"signing up: {figures['onboarding']}"
    )
    for zone, count in figures["residents_by_zone"].items():
        click.echo(f"  {count:6d}  {zone}")


@main.command()
@click.option("--burst", is_flag=True, help="Relay the outbox, run every due job, then exit.")
@click.option("--queue", "queue_name", default=None)
def worker(burst: bool, queue_name: str | None) -> None:
    """Run an RQ worker (with the scheduler) and the outbox relay."""
    from worker.runner import run_worker

    sys.exit(run_worker(Config.from_env(), burst=burst, queue_name=queue_name))


@main.command()
@click.option(
    "--host", default=lambda: os.environ.get("HOST", "127.0.0.1"), show_default="127.0.0.1"
)
def run(host: str) -> None:
    """Migrate, seed, and run the web app plus a worker (embedded Redis when no REDIS_URL)."""
    from honcho.manager import Manager

    from storage.db import transaction
    from storage.migrate import upgrade
    from storage.seed import seed_zones
    from worker.queues import EmbeddedRedis, embedded_dir

    config = Config.from_env()
    upgrade(config.database_url)
    with transaction(_sessions(config)) as session:
        seed_zones(session)
    embedded = None
    env = dict(os.environ)
    if not config.redis_url:
        embedded = EmbeddedRedis(embedded_dir())
        env["REDIS_URL"] = embedded.start()
    bindir = Path(sys.executable).parent
    mibarrio = shutil.which("mibarrio", path=str(bindir)) or "mibarrio"
    gunicorn = shutil.which("gunicorn", path=str(bindir)) or "gunicorn"
    _print_banner(config, host)
    manager = Manager()
    manager.add_process(
        "web",
        f"{gunicorn} --workers 2 --bind {host}:{config.port} --access-logfile - 'bot:create_app()'",
        env=env,
    )
    manager.add_process("worker", f"{mibarrio} worker", env=env)
    try:
        manager.loop()
    finally:
        if embedded is not None:
            embedded.stop()
    sys.exit(manager.returncode)


def _print_banner(config: Config, host: str) -> None:
    base = f"http://{host}:{config.port}"
    transport = "Twilio" if config.twilio_configured else "console (no Twilio account set)"
    click.echo(
        "\nMi Barrio is starting.\n"
        f"  web:        {base}  (health: {base}/healthz)\n"
        f"  webhooks:   {base}/twilio/inbound and {base}/twilio/status\n"
        f"  database:   {config.database_url}\n"
        f"  outbound:   {transport}\n"
        "  try it:     in another terminal, `make chat` (or "
        "`.venv/bin/mibarrio chat --phone +59171234567`) and type Hola\n"
        "  stop:       Ctrl-C\n"
    )


def _register_staff_commands() -> None:
    from bot.staff import COMMANDS

    for command in COMMANDS:
        main.add_command(command)


_register_staff_commands()


@main.group()
def i18n() -> None:
    """Spanish and Aymara catalogs."""


@i18n.command("extract")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write the template (default bot/locales/messages.pot).",
)
def i18n_extract(output: Path | None) -> None:
    """Write the message template (.pot) from the N_() calls in bot/ (mapping in babel.cfg)."""
    from bot.catalogs import write_pot

    path, count = write_pot(output)
    click.echo(f"{count} messages -> {path}")


@i18n.command("update")
def i18n_update() -> None:
    """Merge the code's messages into es and ay (new ones empty in ay, changed ones fuzzy)."""
    from bot.catalogs import update, write_pot

    write_pot()
    result = update()
    for lang in result.added:
        click.echo(
            f"{lang}: {result.added[lang]} new, {result.fuzzy[lang]} to review "
            f"(the Spanish changed), {result.dropped[lang]} no longer used"
        )
    click.echo("next: translate/review (mibarrio i18n export-review), then mibarrio i18n check")


@i18n.command("compile")
def i18n_compile() -> None:
    """Compile the .po catalogs to .mo files."""
    from bot.catalogs import compile_all

    for path in compile_all():
        click.echo(f"compiled {path}")


@i18n.command("check")
def i18n_check() -> None:
    """Fail on missing or fuzzy translations, placeholder mismatches, a lost plural header,
    and Aymara that does not follow the glossary (bot/glossary.py)."""
    from bot.catalogs import check

    problems = check()
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
    from bot.review import export_review

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
    from bot.review import ReviewFileError, import_review

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
    from bot.smscost import cost_markdown

    text = cost_markdown()
    if target is None:
        click.echo(text, nl=False)
        return
    target.write_text(text, encoding="utf-8")
    click.echo(f"wrote {target}")
