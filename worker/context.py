"""Per-process resources a worker needs: config, database sessions, the transport."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.config import Config
from storage.db import make_engine, make_sessionmaker
from worker.sender import Transport, make_transport


@dataclass
class WorkerContext:
    config: Config
    engine: Engine
    sessions: sessionmaker[Session]
    transport: Transport


_current: WorkerContext | None = None


def build(config: Config, transport: Transport | None = None) -> WorkerContext:
    engine = make_engine(config.database_url)
    return WorkerContext(
        config, engine, make_sessionmaker(engine), transport or make_transport(config)
    )


def get() -> WorkerContext:
    """The process's context, built from the environment on first use (RQ jobs call this)."""
    global _current
    if _current is None:
        _current = build(Config.from_env())
    return _current


def use(context: WorkerContext | None) -> None:
    """Install a context for this process (the CLI and tests), or clear it with None."""
    global _current
    _current = context
