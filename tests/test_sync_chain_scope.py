"""A later link of a chain (previous_instance_id set, household_id null) names a village like
a first submission does: only one in the sender's region. It was not checked at all, so an
investigator could place a new household in another township (held, then released when the
wait ran out) or move a household of their region out of it."""

import pytest
from sqlalchemy import func, select

from server.extensions import db
from server.models import Submission
from tests.conftest import TOWNSHIP_1, TOWNSHIP_2
from tests.sync_helpers import household, new_id, survey

URL = "/api/v1/submissions"


@pytest.fixture
def team(demo):
    """The investigator ids of township 1's team."""
    return [demo.user("inv1").id, demo.user("inv2").id]


def households_in_township_2(demo) -> int:
    """Return how many households township 2 holds."""
    db.session.expire_all()
    return len(demo.households_in(TOWNSHIP_2))


@pytest.mark.parametrize("app_config", [{"SYNC_HOLD_SECONDS": 0}])
def test_a_later_link_cannot_place_a_new_household_outside_the_senders_region(
    api, demo, team
):
    """inv1 (township 1) sends the second link of a new application naming a township-2
    village, its first link never sent: refused (403) and stored nowhere, so no wait or
    release ever creates the household there."""
    inv1 = api.as_user("inv1")
    other_village = demo.households_in(TOWNSHIP_2)[0].village_id
    before = households_in_township_2(demo)
    body = survey(None, {"village_id": other_village, "address": "外乡镇",
                         "members": [{"id": new_id(), "name": "外人"}]},
                  investigators=team, previous_instance_id=new_id())
    response = inv1.post(URL, json=body)
    assert response.status_code == 403, response.get_json()
    assert response.get_json()["code"] == "scope.forbidden"
    inv1.get(f"{URL}?mine=1&since=0")  # would release what waited past SYNC_HOLD_SECONDS
    assert households_in_township_2(demo) == before
    assert db.session.scalar(select(func.count()).select_from(Submission)) == 0


def test_a_later_link_cannot_move_a_household_out_of_the_senders_region(api, demo, team):
    """The first link creates a household in township 1; the second (household_id null, as
    the phone sends a new household's later links) names a township-2 village: refused, the
    household stays where it is."""
    inv1 = api.as_user("inv1")
    village = demo.households_in(TOWNSHIP_1)[0].village_id
    other_village = demo.households_in(TOWNSHIP_2)[0].village_id
    first = survey(None, {"village_id": village, "address": "一",
                          "members": [{"id": new_id(), "name": "申请人"}]}, investigators=team)
    created = inv1.post(URL, json=first).get_json()["household_id"]
    second = survey(None, {"village_id": other_village}, investigators=team,
                    previous_instance_id=first["instance_id"])
    response = inv1.post(URL, json=second)
    assert response.status_code == 403, response.get_json()
    assert household(created).village_id == village
