"""Timestamps on the wire: RFC 3339 with an offset out, naive UTC in."""

from datetime import datetime

import pytest
from marshmallow import Schema, ValidationError

from server.schemas.common import UtcDateTime


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
