"""Helpers for the tests that count SQL statements: a statement recorder and households in
villages of their own (a village or township loaded per household shows as more queries)."""

from contextlib import contextmanager

from sqlalchemy import event

from server.extensions import db
from server.models import Household
from server.services.regions import add_region
from server.services.register import register_household


@contextmanager
def counted():
    """Yield a list that collects every SQL statement run inside the block."""
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def reads(statements: list[str]) -> list[str]:
    """Return the SELECT statements among these."""
    return [s for s in statements if s.lstrip().upper().startswith("SELECT")]


def households_in_new_villages(township, serials: range, **fields) -> list[Household]:
    """Add a village to the township for each serial, with one household set to `fields`.
    The caller commits."""
    households = []
    for serial in serials:
        village = add_region(name=f"测试村{serial}", code=f"{township.code}9{serial:02d}",
                             level="village", parent=township, area_type="rural")
        household = register_household(village, code=f"{village.code}0001", record={},
                                        cause="test")
        for name, value in fields.items():
            setattr(household, name, value)
        households.append(household)
    return households
