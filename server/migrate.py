"""Schema migrations with Alembic, run from `ruhu init` and the tests (never create_all)."""

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask

from .extensions import db

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config() -> Config:
    """Return an Alembic config pointing at server/migrations."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def upgrade(app: Flask, target: str = "heads") -> None:
    """Create or migrate the database to the newest schema."""
    cfg = alembic_config()
    with app.app_context(), db.engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, target)


def revision(app: Flask, message: str, rev_id: str | None = None) -> None:
    """Autogenerate a migration from the models (developers only)."""
    cfg = alembic_config()
    with app.app_context(), db.engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.revision(cfg, message=message, autogenerate=True, rev_id=rev_id)


def is_current(app: Flask) -> bool:
    """Tell whether the database is at the newest schema."""
    script = ScriptDirectory.from_config(alembic_config())
    with app.app_context(), db.engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_heads()
    # A head that another revision depends on is not stored in alembic_version once that
    # revision is applied, so compare against everything the stored heads imply.
    applied = {rev.revision for rev in script.iterate_revisions(current, "base")}
    return set(script.get_heads()) <= applied
