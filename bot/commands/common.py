"""What the staff commands share: the database from the environment, and target specs."""

from __future__ import annotations

import click
from sqlalchemy.orm import Session, sessionmaker

from bot import targets
from bot.config import Config
from storage.db import make_engine, make_sessionmaker


def open_database(config: Config | None = None) -> tuple[Config, sessionmaker[Session]]:
    """The configuration and a session factory for DATABASE_URL (read once per command)."""
    config = config or Config.from_env()
    return config, make_sessionmaker(make_engine(config.database_url))


def resolve_target(session: Session, spec: str) -> targets.Target:
    """A --to value resolved to zonas, or a usage error naming what is unknown."""
    try:
        return targets.resolve(session, spec)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--to") from exc
