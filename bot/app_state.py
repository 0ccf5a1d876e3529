"""What the web app holds for its lifetime: config, database engine, session factory."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import redis
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.config import Config
from bot.inbound import TurnSettings


@dataclass
class AppState:
    config: Config
    engine: Engine
    sessions: sessionmaker[Session]
    _redis: redis.Redis | None = field(default=None, repr=False)

    @functools.cached_property
    def turn_settings(self) -> TurnSettings:
        return TurnSettings.of(self.config)

    def redis_health(self) -> str:
        if not self.config.redis_url:
            return "not configured"
        try:
            if self._redis is None:
                self._redis = redis.Redis.from_url(
                    self.config.redis_url, socket_timeout=1, socket_connect_timeout=1
                )
            self._redis.ping()
            return "ok"
        except redis.RedisError as exc:
            return f"error: {exc.__class__.__name__}"
