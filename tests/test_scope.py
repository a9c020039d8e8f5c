"""services/scope: the region test a User row and a signed-in Caller share, and the one
refusal of a household outside the user's region."""

import pytest
from sqlalchemy import select

from server.extensions import db
from server.models import Region
from server.services import scope
from server.services.auth import Caller
from server.services.errors import Forbidden, NotFound
from tests.conftest import TOWNSHIP_1, TOWNSHIP_2


def test_covers_region_is_the_same_for_a_user_and_their_caller(app, demo):
    """Every demo account, every region: the answer is the region-path rule, whether the
    account comes as its User row or as its plain auth.Caller (what a bearer token signs in
    as; caller_for_token itself is tested with the sign-in)."""
    regions = db.session.scalars(select(Region)).all()
    for username in ("inv1", "inv3", "sup1", "admin"):
        user = demo.user(username)
        home = db.session.get(Region, user.region_id)
        caller = Caller.of(user)
        assert user.region_path == caller.region_path == home.path
        for region in regions:
            expected = region.path.startswith(home.path)
            assert scope.covers_region(user, region.id) is expected, (username, region.code)
            assert scope.covers_region(caller, region.id) is expected, (username, region.code)
    assert not scope.covers_region(demo.user("inv1"), 10**9)  # no such region


def test_household_in_scope_refuses_outside_and_missing(app, demo):
    """Inside the region: the household; outside: 403 scope.forbidden; none: 404."""
    inv1 = Caller.of(demo.user("inv1"))
    own = demo.households_in(TOWNSHIP_1)[0]
    other = demo.households_in(TOWNSHIP_2)[0]
    assert scope.household_in_scope(inv1, own) is own
    with pytest.raises(Forbidden) as refused:
        scope.household_in_scope(inv1, other)
    assert refused.value.code == "scope.forbidden"
    with pytest.raises(NotFound):
        scope.household_in_scope(inv1, None)
    assert scope.household_in_scope(demo.user("sup1"), other) is other


def test_as_missing_makes_a_household_outside_the_same_not_found_as_none(app, demo):
    """The console's variant: outside the region is NotFound with the very words of a
    household that does not exist; inside, the household as ever."""
    inv1 = Caller.of(demo.user("inv1"))
    own = demo.households_in(TOWNSHIP_1)[0]
    with pytest.raises(NotFound) as outside:
        scope.household_in_scope(inv1, demo.households_in(TOWNSHIP_2)[0], as_missing=True)
    with pytest.raises(NotFound) as missing:
        scope.household_in_scope(inv1, None, as_missing=True)
    assert outside.value.message == missing.value.message == scope.NO_SUCH_HOUSEHOLD
    assert outside.value.code == missing.value.code
    assert scope.household_in_scope(inv1, own, as_missing=True) is own


def test_refuse_outside_by_path_is_the_rule_for_plain_rows(app, demo):
    """A household read as a plain row (the QR lookup) is refused by its village's path
    with the same answers: no path → 404, a path outside → 403 scope.forbidden."""
    inv1 = Caller.of(demo.user("inv1"))
    assert scope.refuse_outside(inv1, demo.households_in(TOWNSHIP_1)[0].village.path) is None
    with pytest.raises(Forbidden) as refused:
        scope.refuse_outside(inv1, demo.households_in(TOWNSHIP_2)[0].village.path)
    assert refused.value.code == "scope.forbidden"
    with pytest.raises(NotFound):
        scope.refuse_outside(inv1, None)
    # A township's own path is not "below" a sibling's, even sharing its first characters.
    with pytest.raises(Forbidden):
        scope.refuse_outside(inv1, demo.region(TOWNSHIP_2).path)
