"""A supervisor's release acts on the held links of the household in their region only. A
chain may span households (one phone, two visits); releasing a link released the earliest
held link of the whole chain, so a township's supervisor merged a link of another township's
household (theirs stayed held), and the audit log named them as its releaser."""

from sqlalchemy import select

from server.extensions import db
from server.models import AuditEntry
from server.services import users
from tests.conftest import DEMO_PASSWORD, TOWNSHIP_1, TOWNSHIP_2
from tests.sync_helpers import frozen, household, new_id, survey

URL = "/api/v1/submissions"


def test_releasing_a_link_leaves_another_regions_held_link_alone(api, demo):
    """The county supervisor's phone sends a township-2 visit (its predecessor lost), then a
    township-1 visit after it: both held. Township 1's supervisor releases the second: it
    merges, the township-2 link stays held for those whose region holds it."""
    users.add_user("sup_t1", role="supervisor", region_code=TOWNSHIP_1, password=DEMO_PASSWORD)
    there = frozen(demo.households_in(TOWNSHIP_2)[0])
    here = frozen(demo.households_in(TOWNSHIP_1)[0])
    team = [demo.user("sup1").id]
    sender = api.as_user("sup1")
    first = survey(there, {"address": "乡镇二"}, investigators=team,
                   previous_instance_id=new_id())
    second = survey(here, {"address": "乡镇一"}, investigators=team,
                    previous_instance_id=first["instance_id"])
    assert sender.post(URL, json=first).get_json()["merge_state"] == "held"
    assert sender.post(URL, json=second).get_json()["merge_state"] == "held"

    response = api.as_user("sup_t1").post(f"{URL}/{second['instance_id']}/release")

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["merge_state"] == "merged"
    assert household(here.id).address == "乡镇一"
    assert sender.get(f"{URL}/{first['instance_id']}").get_json()["merge_state"] == "held"
    assert household(there.id).address == there.address
    released = db.session.execute(select(AuditEntry.object_id, AuditEntry.ip).where(
        AuditEntry.action == "submission.release")).all()
    # Audited as the supervisor's act, with where it came from, as other API changes are.
    assert [tuple(r) for r in released] == [(second["instance_id"], "127.0.0.1")]


def test_releasing_a_link_creates_no_household_in_another_region(api, demo):
    """The same with a new application in township 2 as the earlier link: township 1's
    supervisor's release creates no household there."""
    users.add_user("sup_t1", role="supervisor", region_code=TOWNSHIP_1, password=DEMO_PASSWORD)
    village = demo.households_in(TOWNSHIP_2)[0].village_id
    here = frozen(demo.households_in(TOWNSHIP_1)[0])
    before = len(demo.households_in(TOWNSHIP_2))
    team = [demo.user("sup1").id]
    sender = api.as_user("sup1")
    first = survey(None, {"village_id": village, "address": "新申请",
                          "members": [{"id": new_id(), "name": "申请人"}]},
                   investigators=team, previous_instance_id=new_id())
    second = survey(here, {"address": "乡镇一"}, investigators=team,
                    previous_instance_id=first["instance_id"])
    assert sender.post(URL, json=first).get_json()["merge_state"] == "held"
    assert sender.post(URL, json=second).get_json()["merge_state"] == "held"

    response = api.as_user("sup_t1").post(f"{URL}/{second['instance_id']}/release")

    assert response.status_code == 200 and response.get_json()["merge_state"] == "merged"
    assert sender.get(f"{URL}/{first['instance_id']}").get_json()["merge_state"] == "held"
    db.session.expire_all()
    assert len(demo.households_in(TOWNSHIP_2)) == before
