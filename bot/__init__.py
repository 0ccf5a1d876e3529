"""Mi Barrio: the Flask face (Twilio webhooks) and the conversation engine."""

from __future__ import annotations

import logging

from flask import Flask

from bot.config import Config
from bot.state import AppState
from storage.db import make_engine, make_sessionmaker


def create_app(config: Config | None = None) -> Flask:
    """The only app factory: config from the environment unless one is given."""
    config = config or Config.from_env()
    app = Flask(__name__)
    app.config["SECRET_KEY"] = config.secret_key
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024  # Twilio's forms are a few KB at most
    # No ping per checkout: requests retry once on a dropped connection instead.
    engine = make_engine(config.database_url, pool_pre_ping=False)
    app.extensions["mibarrio"] = AppState(config, engine, make_sessionmaker(engine))

    from bot.webhooks import bp

    app.register_blueprint(bp)
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s"
        )
    return app
