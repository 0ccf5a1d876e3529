"""`mibarrio db upgrade`, `seed` and `stats`: the schema, the zonas, the totals."""

from __future__ import annotations

import json

import click

from bot.commands.common import open_database
from bot.config import Config
from storage.courses import seed_starter_courses
from storage.db import transaction
from storage.migrate import upgrade
from storage.models import utcnow
from storage.seed import seed_demo_residents, seed_zones
from storage.stats import stats as compute


@click.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply migrations (creates the SQLite file under instance/ by default)."""

    config = Config.from_env()
    upgrade(config.database_url, revision)
    click.echo("database is up to date")


@click.command()
@click.option(
    "--demo-residents",
    type=click.IntRange(min=0),
    default=0,
    help="Also make sure N synthetic onboarded residents exist.",
)
def seed(demo_residents: int) -> None:
    """Load La Paz macrodistritos and zonas (idempotent), optional demo residents, and the
    starter courses (published; never overwritten once there)."""

    config = Config.from_env()
    with transaction(open_database(config)[1]) as session:
        macros, zones = seed_zones(session)
        residents = seed_demo_residents(session, demo_residents) if demo_residents else 0
        courses = seed_starter_courses(session, utcnow())
    click.echo(
        f"added {macros} macrodistritos, {zones} zonas, {residents} demo residents, "
        f"{courses} starter courses"
    )


@click.command()
@click.option("--json", "as_json", is_flag=True)
def stats(as_json: bool) -> None:
    """Participation figures: residents, opt-outs, residents per zona."""

    config = Config.from_env()
    with open_database(config)[1]() as session:
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


COMMANDS = (db, seed, stats)
