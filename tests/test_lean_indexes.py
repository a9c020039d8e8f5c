"""The lookups whose indexes migration 0703 made partial or dropped still use an index, on
either engine (bench/README.md, merge pass 11: fewer index pages written a merge)."""

import pytest
from sqlalchemy import text

from server.extensions import db

# (lookup, the index it must use). Parameters: :a, :b (strings or ids), :n (a number).
LOOKUPS = [
    ("SELECT id FROM submission WHERE previous_instance_id = :a AND merge_state = 'held'",
     "ix_submission_previous_instance_id"),
    ("SELECT id FROM submission WHERE previous_instance_id IN (:a, :b)",
     "ix_submission_previous_instance_id"),
    ("SELECT id FROM submission WHERE corrects_instance_id = :a",
     "ix_submission_corrects_instance_id"),
    ("SELECT id FROM submission WHERE household_id = :n",
     "ix_submission_household_completed_state"),
    ("SELECT id FROM household_version WHERE household_id = :n", "uq_household_version"),
    ("SELECT household_id FROM household_version WHERE prev_village_id IN (:n, :m)",
     "ix_household_version_prev_village_id"),
]


def _plan(sql: str) -> str:
    """Return the engine's plan for `sql`, as one string."""
    values = {"a": "x", "b": "y", "n": 1, "m": 2}
    params = {k: v for k, v in values.items() if f":{k}" in sql}
    if db.engine.dialect.name == "sqlite":
        rows = db.session.execute(text("EXPLAIN QUERY PLAN " + sql), params).all()
        return " ".join(row[-1] for row in rows)
    # With the demo's few rows PostgreSQL would rather scan: tell whether it can use an index.
    db.session.execute(text("SET LOCAL enable_seqscan = off"))
    rows = db.session.execute(text("EXPLAIN " + sql), params).all()
    return " ".join(row[0] for row in rows)


@pytest.mark.parametrize(("sql", "index"), LOOKUPS)
def test_each_lookup_uses_its_index(app, sql, index):
    plan = _plan(sql)
    if db.engine.dialect.name == "sqlite" and index == "uq_household_version":
        index = "sqlite_autoindex_household_version_1"  # SQLite's name for the constraint
    assert index in plan, plan


def test_the_partial_indexes_hold_only_filled_rows(app):
    """Each partial index is defined with its NOT NULL condition (a lone survey, a version
    that moved nothing, costs it no write)."""
    from sqlalchemy import inspect

    found = {}
    for table in ("submission", "household_version"):
        for index in inspect(db.engine).get_indexes(table):
            found[index["name"]] = index
    assert "ix_submission_household_id" not in found
    assert "ix_household_version_household_id" not in found
    for name, column in (("ix_submission_previous_instance_id", "previous_instance_id"),
                         ("ix_submission_corrects_instance_id", "corrects_instance_id"),
                         ("ix_household_version_prev_village_id", "prev_village_id")):
        options = found[name].get("dialect_options", {})
        where = options.get("sqlite_where")
        if where is None:
            where = options.get("postgresql_where")
        assert where is not None and column in str(where) and "NOT NULL" in str(where).upper()


def test_the_migration_goes_back_and_forth(bare_app):
    """0703 undone gives the full indexes back; done again, the lean ones."""
    from alembic import command
    from sqlalchemy import inspect

    from server import migrate

    def names() -> set[str]:
        inspector = inspect(db.engine)
        return {index["name"] for table in ("submission", "household_version")
                for index in inspector.get_indexes(table)}

    cfg = migrate.alembic_config()
    db.session.remove()
    with db.engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, "0702_review_flags_scope")
    assert {"ix_submission_household_id", "ix_household_version_household_id"} <= names()
    migrate.upgrade(bare_app)
    assert not {"ix_submission_household_id", "ix_household_version_household_id"} & names()
    assert migrate.is_current(bare_app)
