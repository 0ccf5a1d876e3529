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

import click

from bot import channels
from bot.config import Config
from storage.db import make_engine, make_sessionmaker

log = logging.getLogger(__name__)


def _sessions(config: Config):  # type: ignore[no-untyped-def]
    return make_sessionmaker(make_engine(config.database_url))


@click.group()
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

    try:
        phone, _ = channels.parse_address(phone)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--phone") from exc
    config = Config.from_env()
    sessions = _sessions(config)
    timeout = timedelta(minutes=config.flow_timeout_minutes)
    for line in sys.stdin:
        text = line.rstrip("\r\n")
        msg = InboundMessage(phone=phone, channel=channel, body=text)
        sid = "CH" + uuid.uuid4().hex
        replies = receive(sessions, sid, msg, fold=config.gsm7_fold, flow_timeout=timeout)
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


@main.group()
def i18n() -> None:
    """Spanish and Aymara catalogs."""


@i18n.command("compile")
def i18n_compile() -> None:
    """Compile the .po catalogs to .mo files."""
    from bot.catalogs import compile_all

    for path in compile_all():
        click.echo(f"compiled {path}")


@i18n.command("check")
def i18n_check() -> None:
    """Fail on missing or fuzzy translations, placeholder mismatches, a lost plural header."""
    from bot.catalogs import check

    problems = check()
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        sys.exit(1)
    click.echo("catalogs ok")
