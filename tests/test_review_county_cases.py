"""County-review cases (staff relatives, disputed, reported) are approved at county level only,
through the API as through the console."""

from sqlalchemy import select

from server.extensions import db
from server.models import Submission
from server.services import users
from tests.conftest import DEMO_PASSWORD, TOWNSHIP_1
from tests.sync_helpers import survey


def _county_case(api, demo) -> str:
    """Post a survey as inv1 and mark its assessment as a county-review case."""
    target = demo.households_in(TOWNSHIP_1)[0]
    team = [demo.user("inv1").id, demo.user("inv2").id]
    body = survey(target, {"address": "县级复核户"}, investigators=team)
    assert api.as_user("inv1").post("/api/v1/submissions", json=body).status_code == 201
    submission = db.session.scalar(
        select(Submission).where(Submission.instance_id == body["instance_id"])
    )
    submission.assessment = {"county_review": True, "checks": []}
    db.session.commit()
    return body["instance_id"]


def test_a_township_supervisor_cannot_approve_a_county_case_through_the_api(api, demo):
    """403 review.county_only for the township; the county supervisor approves it."""
    instance_id = _county_case(api, demo)
    users.add_user("sup_t1", role="supervisor", region_code=TOWNSHIP_1, password=DEMO_PASSWORD)
    url = f"/api/v1/submissions/{instance_id}/review"
    refused = api.as_user("sup_t1").post(url, json={"state": "approved", "comment": ""})
    assert refused.status_code == 403 and refused.get_json()["code"] == "review.county_only"
    # The township may still send it back with a comment.
    sent_back = api.as_user("sup_t1").post(
        url, json={"state": "has_issues", "comment": "补拍房屋照片"}
    )
    assert sent_back.status_code == 200
    approved = api.as_user("sup1").post(url, json={"state": "approved", "comment": ""})
    assert approved.status_code == 200 and approved.get_json()["review_state"] == "approved"
