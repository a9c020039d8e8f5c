"""Partial indexes of a column that few rows fill (migration 0703_lean_write_indexes)."""

from sqlalchemy import text

from ..extensions import db


def filled_index(name: str, column: str) -> db.Index:
    """An index of only the rows where `column` is not NULL, on SQLite and PostgreSQL alike.

    A lookup by `column = x` or `column IN (...)` uses it (both imply NOT NULL); a row
    without a value costs no index write.
    """
    where = text(f"{column} IS NOT NULL")
    return db.Index(name, column, sqlite_where=where, postgresql_where=where)
