"""A conflict's resolution places its household where the record says: a value for
household.village_id must be a village in the resolving supervisor's region, as a survey's
must be in its sender's (sync._village). It was checked for type only, so a township's
supervisor could move a household into another township, or under a region that is no
village, where no one's scope (villages only) finds it."""

import pytest
from sqlalchemy import select

from server.extensions import db
from server.models import Conflict, Household
from server.services import users
from tests.conftest import DEMO_PASSWORD, TOWNSHIP_1, TOWNSHIP_2
from tests.sync_helpers import frozen, household, survey

URL = "/api/v1/submissions"


@pytest.fixture
def township_sup(app):
    """A supervisor of township 1."""
    users.add_user("sup_t1", role="supervisor", region_code=TOWNSHIP_1, password=DEMO_PASSWORD)
    return "sup_t1"


@pytest.fixture
def village_conflict(api, demo):
    """Two teams moved a township-1 household to two different villages of township 1 from
    the same base: an open conflict on household.village_id. Return (conflict id, the
    version seen, the household's id, its village now)."""
    team = [demo.user("inv1").id, demo.user("inv2").id]
    target = frozen(demo.households_in(TOWNSHIP_1)[0])
    villages = sorted({h.village_id for h in demo.households_in(TOWNSHIP_1)}
                      - {target.village_id})
    assert len(villages) >= 2
    for village, device in zip(villages[:2], ("A", "B"), strict=True):
        body = survey(target, {"village_id": village}, investigators=team, device_id=device)
        assert api.as_user("inv1").post(URL, json=body).status_code == 201
    conflict = db.session.scalar(select(Conflict).where(
        Conflict.household_id == target.id, Conflict.path == "household.village_id"))
    assert conflict is not None and conflict.status == "open"
    now = household(target.id)
    return conflict.id, now.version, target.id, now.village_id


def resolve(client, conflict_id: int, value, seen_version: int):
    """Resolve the conflict with a typed value; return the response."""
    return client.post(f"/api/v1/conflicts/{conflict_id}/resolve",
                       json={"choice": "value", "value": value, "seen_version": seen_version})


def test_a_resolution_cannot_move_a_household_out_of_the_supervisors_region(
    api, demo, township_sup, village_conflict
):
    """Township 1's supervisor types a township-2 village: refused, the household stays."""
    conflict_id, seen, household_id, village = village_conflict
    elsewhere = demo.households_in(TOWNSHIP_2)[0].village_id
    response = resolve(api.as_user(township_sup), conflict_id, elsewhere, seen)
    assert response.status_code == 403, response.get_json()
    assert response.get_json()["code"] == "scope.forbidden"
    assert household(household_id).village_id == village
    assert db.session.get(Conflict, conflict_id).status == "open"


def test_a_resolution_cannot_place_a_household_in_a_region_that_is_no_village(
    api, demo, village_conflict
):
    """The county supervisor types the township's own id: refused (422), the household
    stays in a village (where scopes find it)."""
    conflict_id, seen, household_id, village = village_conflict
    township = demo.region(TOWNSHIP_1).id
    response = resolve(api.as_user("sup1"), conflict_id, township, seen)
    assert response.status_code == 422, response.get_json()
    assert "value" in response.get_json()["errors"]
    assert household(household_id).village_id == village
    assert db.session.get(Household, household_id).village.level == "village"
