"""Prebuilt statements on the DB-API cursor (services/plain_sql.py): the same rows, types and
writes as SQLAlchemy's own execution, in the session's transaction, on both engines."""

from datetime import date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import bindparam, insert, select, union_all, update
from sqlalchemy.exc import IntegrityError

from server.extensions import db
from server.models import ChangeCounter, Household, HouseholdVersion, IncomeItem, Member
from server.services.household_record import ITEMS
from server.services.plain_sql import Plain
from tests.conftest import TOWNSHIP_1
from tests.query_helpers import counted

_VERSION = Plain(insert(HouseholdVersion.__table__).returning(HouseholdVersion.__table__.c.id))
_VERSION_ROW = Plain(select(HouseholdVersion).where(HouseholdVersion.id == bindparam("id")))


def _household_with_items(demo) -> Household:
    """A demo household with members (dates) and an income line (money)."""
    for household in demo.households_in(TOWNSHIP_1):
        if household.members and db.session.scalar(
            select(IncomeItem.id).where(IncomeItem.household_id == household.id).limit(1)
        ):
            return household
    pytest.skip("the demo has no household with income lines")


def test_rows_read_equal_sqlalchemys_own_value_for_value_and_type(demo):
    """A union of typed columns (dates, money, text, NULL casts) reads back as Core reads it."""
    household = _household_with_items(demo)
    params = {"household_id": household.id}
    plain = ITEMS.execute(params)
    core = db.session.connection().execute(ITEMS.statement, params).all()
    assert len(plain) == len(core) > 0
    for mine, theirs in zip(plain, core, strict=True):
        assert tuple(mine) == tuple(theirs)
        assert [type(v) for v in mine] == [type(v) for v in theirs]
        assert mine._fields == tuple(theirs._fields)
    kinds = {type(v) for row in plain for v in row}
    assert date in kinds and Decimal in kinds  # the processors ran, not just the driver


def test_an_insert_writes_json_and_times_and_fills_in_left_out_defaults(demo):
    """Column values go through the dialect's processors; a column left out gets its
    Python-side default (changes=[] and created_at now), as an ORM flush would give it."""
    household = next(iter(demo.households_in(TOWNSHIP_1)))
    snapshot = {"household": {"address": "一号", "n": 12345678901234567890}, "members": {}}
    new_id = _VERSION.scalar({
        "household_id": household.id, "version": 999, "snapshot": snapshot, "cause": "test",
        "source_ref": None, "actor_id": None, "village_id": household.village_id,
        "prev_village_id": None, "change_seq": 0, "note": None,
    }, columns=True)
    db.session.expire_all()
    stored = db.session.get(HouseholdVersion, new_id)
    assert stored.snapshot == snapshot
    assert stored.changes == []
    assert isinstance(stored.created_at, datetime)
    row = _VERSION_ROW.first({"id": new_id})
    assert row.snapshot == snapshot and row.created_at == stored.created_at


def test_an_update_returning_answers_the_new_value_and_a_rollback_undoes_it(demo):
    """The statement runs in the session's transaction: its RETURNING is read, and a
    rollback takes the change back."""
    take = Plain(update(ChangeCounter).where(ChangeCounter.id == 1)
                 .values(value=ChangeCounter.value + 1).returning(ChangeCounter.value))
    before = db.session.scalar(select(ChangeCounter.value).where(ChangeCounter.id == 1))
    db.session.commit()
    assert take.scalar() == before + 1
    assert take.scalar() == before + 2
    db.session.rollback()
    assert db.session.scalar(select(ChangeCounter.value).where(ChangeCounter.id == 1)) == before


def test_an_update_of_some_columns_leaves_the_others(demo):
    """The keys passed pick the columns written; the rest keep their values."""
    household = _household_with_items(demo)
    member = household.members[0]
    statement = Plain(update(Member.__table__).where(Member.__table__.c.id == bindparam("item")))
    name, birth = member.name, member.birth_date
    assert statement.execute({"item": member.id, "name": "改名"}, columns=True) == 1
    db.session.expire_all()
    again = db.session.get(Member, member.id)
    assert (again.name, again.birth_date) == ("改名", birth) and name != "改名"


def test_statement_counters_still_see_each_statement(demo):
    """SQLAlchemy's before_cursor_execute listeners (the tests' and the bench's counters)
    see plain statements too."""
    household = next(iter(demo.households_in(TOWNSHIP_1)))
    with counted() as statements:
        ITEMS.execute({"household_id": household.id})
    assert len(statements) == 1 and "UNION ALL" in statements[0]


def test_a_list_for_in_is_one_bind_per_element_and_reads_as_core_reads_it(demo):
    """An expanding IN (or NOT IN), the same list in two places of a union, lists of
    several lengths and an empty one: the rows Core gives for each."""
    household = _household_with_items(demo)
    ids = [member.id for member in household.members]
    table = Member.__table__
    statement = union_all(
        select(table.c.id).where(table.c.id.in_(bindparam("ids", expanding=True))),
        select(table.c.id).where(table.c.id.in_(bindparam("ids", expanding=True)),
                                 table.c.household_id.not_in(bindparam("not", expanding=True))),
    )
    plain = Plain(statement)
    for chosen, excluded in ((ids, []), (ids[:1], [household.id]), ([], []), (ids + ["x"], [0])):
        params = {"ids": chosen, "not": excluded}
        core = db.session.connection().execute(statement, params).all()
        assert sorted(tuple(r) for r in plain.execute(params)) == sorted(tuple(r) for r in core)
    assert len(plain.execute({"ids": ids, "not": []})) == 2 * len(ids)


def test_a_statement_of_another_variable_shape_is_refused_at_once(app):
    """A parameter rendered into the SQL text at each run is not a prebuilt statement."""
    statement = Plain(select(Member.id).where(
        Member.id == bindparam("id", literal_execute=True)))
    with pytest.raises(TypeError, match="fixed-shape"):
        statement.execute({"id": "a"})


def test_a_driver_error_is_sqlalchemys_error_and_the_session_goes_on(demo):
    """A refused write raises SQLAlchemy's IntegrityError (what the merge catches for two
    copies of one submission racing, and the API's handlers map), and after the rollback
    the session works as after any failed statement."""
    counter = Plain(insert(ChangeCounter.__table__))
    db.session.commit()
    with pytest.raises(IntegrityError):
        counter.execute({"id": 1, "value": 5}, columns=True)
    db.session.rollback()
    assert db.session.scalar(select(ChangeCounter.id).where(ChangeCounter.id == 1)) == 1


def test_a_missing_parameter_is_named_and_nothing_is_sent(demo):
    """A value left out (or a list given as something else) is a clear TypeError naming the
    parameter, raised before the statement reaches the database."""
    household = next(iter(demo.households_in(TOWNSHIP_1)))
    with counted() as statements:
        with pytest.raises(TypeError, match="'household_id'"):
            ITEMS.execute({})
        listing = Plain(select(Member.id).where(Member.id.in_(bindparam("ids", expanding=True))))
        with pytest.raises(TypeError, match="'ids' needs a list"):
            listing.execute({"ids": "m1"})
    assert statements == []
    assert ITEMS.execute({"household_id": household.id})  # the statements still work
