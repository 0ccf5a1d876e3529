"""`mibarrio db upgrade`, `seed` and `stats`: the schema, the zonas, the totals."""

from __future__ import annotations

import json
import secrets
import sys
import time

import click

from bot.commands.common import open_database
from bot.config import Config
from bot.passwords import hash_password
from storage import demo_city
from storage.db import is_sqlite, make_engine, make_sessionmaker, transaction
from storage.migrate import upgrade
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
@click.option(
    "--demo-city",
    is_flag=True,
    help="Build a La Paz-sized city with a year of activity (PostgreSQL only).",
)
@click.option(
    "--scale",
    type=click.FloatRange(min=0.0001, max=10),
    default=1.0,
    show_default=True,
    help="With --demo-city: 1.0 is 1,000,000 residents and a year of their activity.",
)
@click.option(
    "--residents",
    type=click.IntRange(min=100),
    default=None,
    help="With --demo-city: this many residents (the rest scales with them).",
)
@click.option("--seed", "seed_value", type=int, default=591, show_default=True)
@click.option("--force", is_flag=True, help="With --demo-city: wipe the data already there.")
@click.option(
    "--staff-password-stdin",
    is_flag=True,
    help="With --demo-city: the demo staff users' password (otherwise one is made and shown).",
)
def seed(
    demo_residents: int,
    demo_city: bool,
    scale: float,
    residents: int | None,
    seed_value: int,
    force: bool,
    staff_password_stdin: bool,
) -> None:
    """Load La Paz macrodistritos and zonas (idempotent), and optional demo residents."""

    config = Config.from_env()
    if demo_city:
        _demo_city(config, scale, residents, seed_value, force, staff_password_stdin)
        return
    with transaction(open_database(config)[1]) as session:
        macros, zones = seed_zones(session)
        residents_added = seed_demo_residents(session, demo_residents) if demo_residents else 0
    click.echo(f"added {macros} macrodistritos, {zones} zonas, {residents_added} demo residents")


def _demo_city(
    config: Config,
    scale: float,
    residents: int | None,
    seed_value: int,
    force: bool,
    password_stdin: bool,
) -> None:
    if is_sqlite(config.database_url):
        raise click.ClickException(
            "the demo city needs PostgreSQL: set DATABASE_URL=postgresql://... "
            "(SQLite is for one machine and a few thousand residents; "
            "use --demo-residents N there)"
        )
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
        if len(password) < 12:
            raise click.ClickException("the staff password needs at least 12 characters")
    else:
        password = secrets.token_urlsafe(12)
    plan = demo_city.CityPlan.scaled(scale, residents=residents, seed=seed_value)
    engine = make_engine(config.database_url)
    with transaction(make_sessionmaker(engine)) as session:
        seed_zones(session)
    started = time.perf_counter()

    def progress(step: str, seconds: float) -> None:
        click.echo(f"  {step}: {seconds:.1f}s", err=True)

    try:
        built = demo_city.build_city(
            engine,
            plan,
            staff_password_hash=hash_password(password),
            force=force,
            progress=progress,
        )
    except demo_city.NotEmptyError as exc:
        raise click.ClickException(f"{exc}: nothing changed (--force wipes it first)") from exc
    finally:
        engine.dispose()
    total = time.perf_counter() - started
    click.echo(f"demo city built in {total:.0f}s (seed {seed_value}):")
    for table, count in built.counts.items():
        click.echo(f"  {count:>12,}  {table}")
    click.echo(f"staff users: {', '.join(built.staff[:4])} and {len(built.staff) - 4} more")
    if not password_stdin:
        click.echo(f"their password: {password}")


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
