"""Converting between the Household rows and the plain record of domain/record.py."""

import functools
from datetime import date
from decimal import Decimal

from sqlalchemy import Row, bindparam, cast, insert, literal, null, select, union_all, update
from sqlalchemy.orm import selectinload

from ..domain.record import COLLECTION_FIELDS, HOUSEHOLD_FIELDS, empty_record
from ..extensions import db
from ..models import Asset, Household, IncomeItem, Member, Supporter
from .plain_sql import Plain

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


# --- the record through plain statements (the merge's path) ----------------------------------
#
# A merge reads a household's collections and writes what changed in them with plain
# statements, not through ORM objects: loading every member, supporter, asset and income
# line as an object (four queries) and flushing them through the unit of work was a third
# of a merge's time. The household row itself stays an ORM object (it is locked, and its
# version and change number are written with the rest of the transaction).


def _items_query():
    """Return one statement reading a household's four collections (UNION ALL).

    Each branch selects every column any collection has (NULL where its table has none),
    tagged with its collection; rows come back in position order.
    """
    columns: dict[str, object] = {}
    for model in ITEM_MODELS.values():
        for column in model.__table__.columns:
            if column.key != "household_id":
                columns.setdefault(column.key, column.type)
    branches = []
    for section, model in ITEM_MODELS.items():
        table = model.__table__
        branches.append(
            select(literal(section).label("section"), *[
                (table.c[name] if name in table.c else cast(null(), kind)).label(name)
                for name, kind in columns.items()
            ]).where(table.c.household_id == bindparam("household_id"))
        )
    return union_all(*branches).order_by("position")


# Built once: every merge and every QR lookup runs it (rows by column label).
ITEMS = Plain(_items_query())


def read_items(household_id: int) -> dict[str, dict[str, dict]]:
    """Return a household's collections as the record holds them ({section: {id: item}}).

    One prebuilt statement (plain_sql), after pending changes are flushed; rows as plain
    data in position order.
    """
    items: dict[str, dict[str, dict]] = {section: {} for section in COLLECTION_FIELDS}
    db.session.flush()
    for row in ITEMS.execute({"household_id": household_id}):
        items[row.section][row.id] = {
            f: _to_json(getattr(row, f)) for f in COLLECTION_FIELDS[row.section]
        }
    return items


def read_record(household: Household | Row) -> dict:
    """Return the household's current record: its row's fields and its collections as read
    now (the same record to_record gives, without loading the collections as objects).

    `household` is the Household object or a plain row with its id and record fields (a
    merge worked out before the lock reads the row with its version: sync._foresee).
    """
    record = {"household": {f: _to_json(getattr(household, f)) for f in HOUSEHOLD_FIELDS}}
    record.update(read_items(household.id))
    return record


def _stored_value(field: str, value):
    """Return a JSON value as it reads back once stored (an empty date is no date)."""
    return _to_json(_from_json(field, value))


def as_stored(before: dict, wanted: dict) -> dict:
    """Return the record the rows will hold once `wanted` is written over `before`.

    What apply_record's objects would give back: household fields `wanted` lacks keep
    their value (the code never changes); a new item gets its columns' defaults for what it
    lacks; values read back as stored.
    """
    head = dict(before["household"])
    for field, value in wanted.get("household", {}).items():
        if field in head and field != "code":
            head[field] = _stored_value(field, value)
    record = {"household": head}
    for section, fields in COLLECTION_FIELDS.items():
        old, new = before.get(section, {}), wanted.get(section, {})
        items = {}
        for item_id, values in old.items():
            if item_id in new:
                items[item_id] = {
                    f: _stored_value(f, new[item_id][f]) if f in new[item_id] else values.get(f)
                    for f in fields
                }
        defaults = _defaults(section)
        for item_id, values in new.items():
            if item_id not in old:
                items[item_id] = {
                    f: _stored_value(f, values[f]) if f in values else defaults.get(f)
                    for f in fields
                }
        record[section] = items
    return record


def write_record(household: Household, before: dict, wanted: dict, *,
                 after: dict | None = None) -> dict:
    """Make the household's rows hold `wanted` (read as `before` under the lock); return the
    record they now hold (as_stored; `after` is it, when the caller worked it out already:
    a merge worked out before the lock, sync._foresee).

    The household row's fields are set on its object (written at the flush with its new
    version); the collections' inserts, updates and deletes are run now. The object's
    collections are expired, so that anything reading them later in the transaction reads
    the rows.
    """
    if after is None:
        after = as_stored(before, wanted)
    _forget_loaded_items(household)
    for field in HOUSEHOLD_FIELDS:
        if field != "code" and after["household"][field] != before["household"][field]:
            setattr(household, field, _from_json(field, after["household"][field]))
    removed = []
    for section, fields in COLLECTION_FIELDS.items():
        old, new = before[section], after[section]
        added = [{"id": item_id, "household_id": household.id,
                  **{f: _from_json(f, values[f]) for f in fields}}
                 for item_id, values in new.items() if item_id not in old]
        insert_item, update_item = _ITEM_WRITES[section]
        if added:
            insert_item.executemany(added)
        for item_id, values in new.items():
            changed = {f: _from_json(f, values[f]) for f in fields
                       if item_id in old and values[f] != old[item_id][f]}
            if changed:
                update_item.execute({"item_id": item_id, **changed}, columns=True)
        gone = [item_id for item_id in old if item_id not in new]
        if gone:
            removed.append((ITEM_MODELS[section].__table__, gone))
    # Removals last, collections in reverse order (an income line names its member).
    for table, gone in reversed(removed):
        db.session.connection().execute(table.delete().where(table.c.id.in_(gone)))
    return after


# Each collection's INSERT and UPDATE by id (the columns written are the keys passed).
_ITEM_WRITES = {
    section: (Plain(insert(model.__table__)),
              Plain(update(model.__table__).where(model.__table__.c.id == bindparam("item_id"))))
    for section, model in ITEM_MODELS.items()
}


def _forget_loaded_items(household: Household) -> None:
    """Drop from the session the household's collections and any item objects loaded with
    them: the rows are about to change behind the ORM's back, and a later read in the same
    transaction must read them again (a deleted one must not come back from the session)."""
    for section in ITEM_MODELS:
        for row in household.__dict__.get(section, ()):
            db.session.expunge(row)
    db.session.expire(household, list(ITEM_MODELS))
