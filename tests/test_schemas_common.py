"""Timestamps on the wire: RFC 3339 with an offset out, naive UTC in; plain_dump answers
what dump answers."""

from datetime import date, datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest
from marshmallow import Schema, ValidationError

from server.schemas.common import UtcDateTime, plain_dump
from server.schemas.household import household_head_schema, household_schema


class Stamp(Schema):
    """One timestamp field."""

    at = UtcDateTime(required=True)


def test_offsets_are_converted_to_naive_utc():
    """A Beijing-time stamp is stored as the same instant in naive UTC."""
    assert Stamp().load({"at": "2026-05-02T09:00:00+08:00"})["at"] == datetime(2026, 5, 2, 1, 0)


def test_naive_values_are_sent_with_their_utc_offset():
    """What the database holds as naive UTC goes out as RFC 3339 with an offset."""
    assert Stamp().dump({"at": datetime(2026, 5, 2, 1, 0)})["at"] == "2026-05-02T01:00:00+00:00"


@pytest.mark.parametrize(
    "value", ["0001-01-01T00:00:00+03:04", "9999-12-31T23:59:59-05:00", "yesterday"]
)
def test_impossible_instants_are_a_validation_error(value):
    """A stamp with no UTC equivalent is a field error (422), never a 500."""
    with pytest.raises(ValidationError):
        Stamp().load({"at": value})


def test_plain_dump_answers_what_the_schema_dumps():
    """A household as plain data (Function fields' values included, collections as lists
    of mappings) dumps to exactly what the schema makes of the object: None, dates,
    timestamps, Decimal money and booleans alike."""
    member = {"id": "m1", "position": 0, "name": "甲", "id_number": None, "relation": "self",
              "sex": None, "birth_date": date(1950, 1, 2), "health": None,
              "disability_grade": None, "work_ability": None, "occupation": None,
              "co_resident": True, "died_on": None}
    supporter = {"id": "s1", "position": 0, "name": "乙", "id_number": "x", "relation": "son",
                 "household_size": None, "monthly_income": Decimal("1200.50")}
    asset = {"id": "a1", "position": 0, "category": "housing", "description": "",
             "quantity": None, "value": 3}
    income = {"id": "i1", "position": 0, "member_id": None, "category": "wage",
              "amount": Decimal("10"), "period": "month", "note": None}
    fields = {"id": 7, "code": "c", "qr_token": "q", "version": 2, "village_id": 3,
              "area_type": "rural", "address": "", "phone": None, "lat": 48.1, "lon": None,
              "status": "enrolled", "benefit_class": None, "hardship_cause": None,
              "staff_relative": False, "disputed": True, "next_review_on": date(2027, 1, 1),
              "updated_at": datetime(2026, 5, 2, 1, 0)}
    items = {"members": [member], "supporters": [supporter], "assets": [asset],
             "incomes": [income]}
    village = SimpleNamespace(name="村", parent=None)
    household = SimpleNamespace(**fields, village=village, revisit={"reasons": ["x"]},
                                **{k: [SimpleNamespace(**i) for i in v] for k, v in items.items()})
    plain = {**fields, "village_name": "村", "township_name": "", "revisit": {"reasons": ["x"]}}
    assert plain_dump(household_head_schema)(plain) == household_head_schema.dump(household)
    assert plain_dump(household_schema)(plain | items) == household_schema.dump(household)
