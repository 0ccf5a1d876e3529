"""The `mibarrio` entry point: the command groups of bot.commands, and running the services.

The one module of bot that imports worker: `mibarrio run` and `mibarrio worker` start it.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import click
from honcho.manager import Manager
from sqlalchemy.exc import OperationalError, ProgrammingError

from bot.commands import courses, database, evidence, info, mapping, staff, users
from bot.commands.chat import chat
from bot.commands.common import open_database
from bot.commands.i18n import i18n
from bot.config import Config
from storage.db import transaction
from storage.migrate import upgrade
from storage.seed import seed_zones
from storage.staff import count_users
from worker.queues import EmbeddedRedis, embedded_dir
from worker.runner import run_worker

log = logging.getLogger(__name__)


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


@main.command()
@click.option("--burst", is_flag=True, help="Relay the outbox, run every due job, then exit.")
@click.option("--queue", "queue_name", default=None)
@click.option(
    "--evidence",
    is_flag=True,
    help="Serve only the evidence queue (rollup refreshes, exports), beside a sending worker.",
)
def worker(burst: bool, queue_name: str | None, evidence: bool) -> None:
    """Run an RQ worker and the outbox relay; a Redis outage pauses it, never ends it."""

    sys.exit(run_worker(Config.from_env(), burst=burst, queue_name=queue_name, evidence=evidence))


@main.command()
@click.option(
    "--host", default=lambda: os.environ.get("HOST", "127.0.0.1"), show_default="127.0.0.1"
)
def run(host: str) -> None:
    """Migrate, seed, and run the web app plus a worker (embedded Redis when no REDIS_URL)."""

    config = Config.from_env()
    upgrade(config.database_url)
    with transaction(open_database(config)[1]) as session:
        seed_zones(session)
    embedded = None
    env = dict(os.environ)
    if not config.redis_url:
        embedded = EmbeddedRedis(embedded_dir())
        env["REDIS_URL"] = embedded.start()
    bindir = Path(sys.executable).parent
    mibarrio = shutil.which("mibarrio", path=str(bindir)) or "mibarrio"
    gunicorn = shutil.which("gunicorn", path=str(bindir)) or "gunicorn"
    with open_database(config)[1]() as session:
        staff_users = count_users(session)
    _print_banner(config, host, staff_users)
    manager = Manager()
    manager.add_process(
        "web",
        # As the Procfile runs it: threads, so a slow client holds a thread, not a process.
        f"{gunicorn} --workers {config.web_concurrency} --worker-class gthread "
        f"--threads {config.web_threads} --bind {host}:{config.port} --access-logfile - "
        "'bot.app:create_app()'",
        env=env,
    )
    manager.add_process("worker", f"{mibarrio} worker", env=env)
    manager.add_process("evidence", f"{mibarrio} worker --evidence", env=env)
    try:
        manager.loop()
    finally:
        if embedded is not None:
            embedded.stop()
    sys.exit(manager.returncode)


def _print_banner(config: Config, host: str, staff_users: int = 0) -> None:
    base = f"http://{host}:{config.port}"
    # Browsers keep the console's Secure cookie over plain http only on localhost.
    console = f"http://localhost:{config.port}/admin/" if host == "127.0.0.1" else base + "/admin/"
    sign_in = (
        "sign in as a staff user"
        if staff_users
        else "create the first user: echo 'a-long-password' | .venv/bin/mibarrio user add "
        "you@example.org --role municipality --password-stdin"
    )
    transport = "Twilio" if config.twilio_configured else "console (no Twilio account set)"
    click.echo(
        "\nMi Barrio is starting.\n"
        f"  web:        {base}  (health: {base}/healthz)\n"
        f"  webhooks:   {base}/twilio/inbound and {base}/twilio/status\n"
        f"  console:    {console}  ({sign_in})\n"
        f"  API:        {base}/api/v1/  (tokens: .venv/bin/mibarrio user token EMAIL)\n"
        f"  database:   {config.database_url}\n"
        f"  outbound:   {transport}\n"
        "  try it:     in another terminal, `make chat` (or "
        "`.venv/bin/mibarrio chat --phone +59171234567`) and type Hola\n"
        "  stop:       Ctrl-C\n"
    )


for command in (
    *database.COMMANDS,
    chat,
    i18n,
    *info.COMMANDS,
    *courses.COMMANDS,
    *mapping.COMMANDS,
    *staff.COMMANDS,
    *users.COMMANDS,
    *evidence.COMMANDS,
):
    main.add_command(command)
