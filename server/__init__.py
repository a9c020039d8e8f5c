"""Ruhu (入户): the sync server holding the master record of every household."""

from pathlib import Path

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from . import config, json_columns
from .extensions import MAX_DB_INT, csrf, db


def _sqlite_pragmas(busy_timeout_ms: int):
    """Return a connect listener turning on WAL, foreign keys and the busy timeout."""

    def on_connect(dbapi_connection, connection_record) -> None:
        """Set the pragmas of one new SQLite connection."""
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms:d}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # Checkpoints run after the writer's locks are let go (services/wal_checkpoints.py),
        # not inside whichever commit takes the WAL past SQLite's mark.
        cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.close()

    return on_connect


def _configure_engine(app: Flask) -> None:
    """Apply per-engine settings once the engine exists."""
    with app.app_context():
        engine: Engine = db.engine
        if engine.dialect.name == "sqlite":
            timeout_ms = int(app.config["DB_LOCK_TIMEOUT_SECONDS"] * 1000)
            event.listen(engine, "connect", _sqlite_pragmas(timeout_ms))
            from .services import wal_checkpoints  # noqa: F401 (its listeners count commits)


class DatabaseIntConverter(IntegerConverter):
    """`<int:...>` URL parts that fit a database integer; larger ones match no route (404)."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_DB_INT)
        super().__init__(map, *args, **kwargs)


def create_app(test_config: dict | None = None) -> Flask:
    """Create the Ruhu app: defaults, then environment, then test overrides."""
    app = Flask(__name__, static_folder=None)
    app.url_map.converters["int"] = DatabaseIntConverter
    app.config.from_mapping(config.DEFAULTS)
    test_config = test_config or {}
    env = config.from_environment(with_secret="SECRET_KEY" not in test_config)
    app.config.from_mapping({k: v for k, v in env.items() if k not in test_config})
    if test_config:
        app.config.from_mapping(test_config)
    Path(app.config["DATA_DIR"]).mkdir(parents=True, exist_ok=True)
    Path(app.config["MEDIA_DIR"]).mkdir(parents=True, exist_ok=True)

    lock_timeout = app.config["DB_LOCK_TIMEOUT_SECONDS"]
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        # SQLite serialises writers; the busy timeout turns brief lock waits into delays,
        # not errors (a longer wait is a 503). check_same_thread off: the pool hands
        # connections across threads. No pre-ping: a file does not drop connections, and
        # the ping was a statement more on every request.
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {
            **app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}),
            "pool_pre_ping": False,
            "connect_args": {"timeout": lock_timeout, "check_same_thread": False},
        }
    elif app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        # A lock held too long (or a server that does not answer) ends in a 503 the phone
        # retries, instead of a request thread waiting forever.
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {
            **app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}),
            "connect_args": {
                "connect_timeout": 10,
                "options": f"-c lock_timeout={int(lock_timeout * 1000)}",
            },
        }
    if app.config.get("PROXY_COUNT"):
        n = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {
        **app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}),
        **json_columns.ENGINE_OPTIONS,
    }
    db.init_app(app)
    _configure_engine(app)
    csrf.init_app(app)

    from . import api, cli, console, security, web
    from .api import errors

    csrf.exempt(api.bp)
    app.register_blueprint(api.bp)
    console.init_app(app)
    errors.init_app(app)
    # The console's own error page also for URLs no console route matches, and for 500s.
    errors.register_error_page(app, "/console", console.access.error_page)
    security.init_app(app)
    web.init_app(app)
    cli.init_app(app)
    from .services.transactions import forget_kept_rows

    app.teardown_request(forget_kept_rows)
    return app
