"""The merge's plain-statement reads and writes of a household record must give exactly what
the ORM objects give (household_record.read_record / write_record against to_record /
apply_record)."""

from sqlalchemy import select

from server.domain.record import copy_json
from server.extensions import db
from server.models import Household
from server.services.household_record import (
    ITEM_MODELS,
    apply_record,
    as_stored,
    read_record,
    to_record,
    write_record,
)
from tests.query_helpers import counted


def _richest_household() -> Household:
    """Return the demo household with the most items in its collections (all four kinds)."""
    households = db.session.scalars(select(Household).order_by(Household.id)).all()
    full = [h for h in households if h.members and h.supporters and h.assets and h.incomes]
    assert full, "the demo has a household with members, supporters, assets and incomes"
    return max(full, key=lambda h: len(h.members) + len(h.assets) + len(h.incomes))


def _wanted(record: dict) -> dict:
    """Return a record changed in every way a merge can change one."""
    wanted = copy_json(record)
    wanted["household"]["address"] = "新地址 8号"
    wanted["household"]["next_review_on"] = "2027-01-31"
    wanted["household"]["code"] = "NOT-A-CODE"  # never written
    member_id, member = next(iter(wanted["members"].items()))
    member["occupation"] = "务农"
    member["died_on"] = ""  # an empty date is no date
    wanted["members"]["0b4a3c1e-0000-4000-8000-000000000001"] = {
        "name": "新成员", "birth_date": "2019-06-01", "position": 9}  # defaults for the rest
    wanted["incomes"]["0b4a3c1e-0000-4000-8000-000000000002"] = {
        "category": "wage", "amount": 1234.5, "member_id": member_id}
    del wanted["assets"][next(iter(wanted["assets"]))]
    supporter = next(iter(wanted["supporters"].values()))
    supporter["monthly_income"] = 2100
    return wanted


def _reloaded(household_id: int) -> dict:
    """Return the household's record as the database holds it now."""
    db.session.expire_all()
    return to_record(db.session.get(Household, household_id))


def test_read_record_is_to_record(app):
    households = [*db.session.scalars(select(Household).limit(8)), _richest_household()]
    for household in households:
        assert read_record(household) == to_record(household)
    assert all(read_record(households[-1])[section] for section in ITEM_MODELS)


def test_write_record_stores_what_apply_record_stores(app):
    with app.app_context():
        household = _richest_household()
        household_id = household.id
        before = to_record(household)
        wanted = _wanted(before)

        apply_record(household, copy_json(wanted))
        db.session.flush()
        by_objects = _reloaded(household_id)
        db.session.rollback()

        household = db.session.get(Household, household_id)
        assert read_record(household) == before
        written = write_record(household, read_record(household), copy_json(wanted))
        db.session.flush()
        by_statements = _reloaded(household_id)
        db.session.rollback()

    assert by_statements == by_objects
    assert written == by_statements  # what the version's snapshot records
    assert by_statements != before
    assert by_statements["household"]["code"] == before["household"]["code"]
    member = by_statements["members"]["0b4a3c1e-0000-4000-8000-000000000001"]
    assert member["relation"] == "self" and member["co_resident"] is True
    assert next(iter(by_statements["members"].values()))["died_on"] is None
    assert len(by_statements["assets"]) == len(before["assets"]) - 1


def test_write_record_leaves_an_unchanged_record_alone(app):
    with app.app_context():
        household = _richest_household()
        before = read_record(household)
        with counted() as statements:
            written = write_record(household, before, copy_json(before))
        assert written == before
        assert statements == []
        assert not db.session.dirty
        db.session.rollback()


def test_as_stored_fills_a_new_items_defaults_and_keeps_missing_fields():
    before = {"household": {"code": "A1", "address": "旧", "next_review_on": None},
              "members": {"m1": {"name": "甲", "relation": "spouse", "died_on": None}},
              "supporters": {}, "assets": {}, "incomes": {}}
    wanted = {"household": {"address": "新"},
              "members": {"m1": {"died_on": ""}, "m2": {"name": "乙"}},
              "supporters": {}, "assets": {}, "incomes": {}}
    stored = as_stored(before, wanted)
    assert stored["household"] == {"code": "A1", "address": "新", "next_review_on": None}
    assert stored["members"]["m1"]["name"] == "甲"
    assert stored["members"]["m1"]["relation"] == "spouse"
    assert stored["members"]["m2"]["relation"] == "self"
    assert stored["members"]["m2"]["co_resident"] is True
    assert stored["members"]["m2"]["occupation"] is None


def test_objects_loaded_before_a_plain_write_are_read_again(app):
    """Collections (and their item objects) loaded earlier in the transaction are not
    answered stale after write_record: a removed item does not come back from the session,
    a changed one shows its new value."""
    household = _richest_household()
    loaded = to_record(household)  # loads the four collections as objects
    held = {section: list(getattr(household, section)) for section in ITEM_MODELS}  # in use
    wanted = _wanted(loaded)
    written = write_record(household, read_record(household), copy_json(wanted))
    assert to_record(household) == written
    assert sum(map(len, held.values())) == sum(len(loaded[s]) for s in ITEM_MODELS)
    db.session.rollback()
