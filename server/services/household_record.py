"""Converting between the Household rows and the plain record of domain/record.py."""

import functools
from datetime import date
from decimal import Decimal

from sqlalchemy.orm import selectinload

from ..domain.record import COLLECTION_FIELDS, HOUSEHOLD_FIELDS, empty_record
from ..models import Asset, Household, IncomeItem, Member, Supporter

ITEM_MODELS = {"members": Member, "supporters": Supporter, "assets": Asset, "incomes": IncomeItem}
# Loader options bringing a household's whole record: one extra query per collection, for
# any number of households (never one query per household).
FULL_RECORD = (
    selectinload(Household.members),
    selectinload(Household.supporters),
    selectinload(Household.assets),
    selectinload(Household.incomes),
)
DATE_FIELDS = frozenset({"birth_date", "died_on", "next_review_on"})


def _to_json(value):
    """Return a JSON-native value: dates as ISO strings, money as a float."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def _from_json(field: str, value):
    """Return the column value for a JSON-native record value."""
    if field in DATE_FIELDS and isinstance(value, str) and value:
        return date.fromisoformat(value)
    if field in DATE_FIELDS and value == "":
        return None
    return value


@functools.cache
def _defaults(section: str) -> dict:
    """Return the scalar column defaults of a collection's items ({field: value})."""
    return {
        column.key: column.default.arg
        for column in ITEM_MODELS[section].__table__.columns
        if column.key in COLLECTION_FIELDS[section]
        and column.default is not None and column.default.is_scalar
    }


def to_record(household: Household) -> dict:
    """Return the household's current master record as plain data."""
    record = empty_record()
    record["household"] = {f: _to_json(getattr(household, f)) for f in HOUSEHOLD_FIELDS}
    for section, fields in COLLECTION_FIELDS.items():
        record[section] = {
            item.id: {f: _to_json(getattr(item, f)) for f in fields}
            for item in getattr(household, section)
        }
    return record


def apply_record(household: Household, record: dict) -> None:
    """Make the household's rows equal to `record` (adds, updates and removes items)."""
    for field in HOUSEHOLD_FIELDS:
        if field in record.get("household", {}) and field != "code":
            setattr(household, field, _from_json(field, record["household"][field]))
    for section, fields in COLLECTION_FIELDS.items():
        wanted = record.get(section, {})
        rows = getattr(household, section)
        by_id = {row.id: row for row in rows}
        for row in list(rows):
            if row.id not in wanted:
                rows.remove(row)
        for item_id, values in wanted.items():
            row = by_id.get(item_id)
            if row is None:
                # The columns' defaults now, not at the flush: the version's snapshot is
                # taken from these objects before anything is written.
                row = ITEM_MODELS[section](id=item_id, **_defaults(section))
                rows.append(row)
            for field in fields:
                if field in values:
                    setattr(row, field, _from_json(field, values[field]))
