"""The Flask app: the only app factory, for gunicorn (`bot.app:create_app()`) and the tests."""

from __future__ import annotations

import logging

from flask import Flask

from bot import admin
from bot.api import bp as api
from bot.app_state import AppState
from bot.config import Config
from bot.webhooks import bp
from storage.db import make_engine, make_sessionmaker


def create_app(config: Config | None = None) -> Flask:
    """The only app factory: config from the environment unless one is given."""
    config = config or Config.from_env()
    app = Flask(__name__)
    app.config["SECRET_KEY"] = config.secret_key
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024  # Twilio's forms and staff forms are small
    # No ping per checkout: requests retry once on a dropped connection instead. A connection
    # for each of gunicorn's threads (WEB_THREADS).
    engine = make_engine(config.database_url, threads=config.web_threads, pool_pre_ping=False)
    app.extensions["mibarrio"] = AppState(config, engine, make_sessionmaker(engine))

    app.register_blueprint(bp)
    app.register_blueprint(api)
    admin.register(app, config, exempt=(bp, api))
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s"
        )
    return app
