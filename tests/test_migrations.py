"""Migrations build the schema on an empty database (SQLite here; PostgreSQL when configured)."""

import os

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import DatabaseError

from server import create_app, migrate
from server.extensions import db

PG_URL = os.environ.get("RUHU_TEST_DATABASE_URL")


def _app_for(url, tmp_path):
    """Return an app on `url`."""
    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": "t",
            "TESTING": True,
            "DATA_DIR": str(tmp_path),
            "MEDIA_DIR": str(tmp_path / "media"),
        }
    )


def _check_schema(app):
    """Assert the migrated schema is complete and current, and the logs are append-only."""
    with app.app_context():
        tables = set(inspect(db.engine).get_table_names())
        assert {
            "household",
            "member",
            "household_version",
            "user",
            "device_token",
            "audit_entry",
            "region",
        } <= tables
        assert migrate.is_current(app)
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO audit_entry (at, actor_name, action, object_type, object_id, detail) "
                    "VALUES (CURRENT_TIMESTAMP, 'x', 'test', '', '', '{}')"
                )
            )
        for statement in ("UPDATE audit_entry SET action = 'changed'", "DELETE FROM audit_entry"):
            with pytest.raises(DatabaseError), db.engine.begin() as conn:
                conn.execute(text(statement))
        db.engine.dispose()


def test_migrations_on_an_empty_sqlite_file(tmp_path):
    """`ruhu init` on a new SQLite file creates every table, with WAL and foreign keys on."""
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    app = _app_for(url, tmp_path)
    migrate.upgrade(app)
    migrate.upgrade(app)  # a second run is a no-op
    _check_schema(app)
    with app.app_context(), db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        db.engine.dispose()


@pytest.mark.skipif(not PG_URL, reason="RUHU_TEST_DATABASE_URL not set")
def test_migrations_on_an_empty_postgresql_database(tmp_path):
    """The same migrations build the schema on PostgreSQL."""
    from sqlalchemy.engine import make_url

    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    name = f"ruhu_migr_{os.getpid()}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
        app = _app_for(url, tmp_path)
        migrate.upgrade(app)
        _check_schema(app)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_household_versions_are_append_only(app, demo):
    """The version history cannot be rewritten, even by SQL."""
    with pytest.raises(DatabaseError), db.engine.begin() as conn:
        conn.execute(text("UPDATE household_version SET cause = 'forged'"))
