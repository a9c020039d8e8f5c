"""Whoever took part in a survey never decides on it: a supervisor who sent a survey, or was
on its team, is refused (403 review.own_survey) through the API and the console, whose page
says so instead of offering a decision; another supervisor of the region decides as usual."""

import pytest

from server.extensions import db
from server.models import Submission
from server.services import users
from tests.conftest import DEMO_PASSWORD, TOWNSHIP_1
from tests.sync_helpers import survey

pytest_plugins = ["tests.console_helpers"]


@pytest.fixture
def own_survey(api, demo):
    """A township supervisor surveys a household of their township themselves."""
    users.add_user("sup_t1", role="supervisor", region_code=TOWNSHIP_1, password=DEMO_PASSWORD)
    target = demo.households_in(TOWNSHIP_1)[0]
    body = survey(target, {"address": "督导亲自入户"})
    response = api.as_user("sup_t1").post("/api/v1/submissions", json=body)
    assert response.status_code == 201, response.get_json()
    return body["instance_id"]


def review_state(instance_id: str) -> str:
    db.session.expire_all()
    return db.session.query(Submission).filter_by(instance_id=instance_id).one().review_state


def test_the_sender_cannot_approve_their_own_survey_through_the_api(api, own_survey):
    url = f"/api/v1/submissions/{own_survey}/review"
    for state in ("approved", "has_issues", "rejected"):
        refused = api.as_user("sup_t1").post(url, json={"state": state, "comment": "自查无误"})
        assert refused.status_code == 403, refused.get_json()
        assert refused.get_json()["code"] == "review.own_survey"
    assert review_state(own_survey) == "received"
    approved = api.as_user("sup1").post(url, json={"state": "approved", "comment": ""})
    assert approved.status_code == 200 and approved.get_json()["review_state"] == "approved"


def test_a_team_member_cannot_decide_either(api, demo):
    """inv1 sends the survey with sup_t1 on the team: sup_t1 may not decide on it."""
    users.add_user("sup_t1", role="supervisor", region_code=TOWNSHIP_1, password=DEMO_PASSWORD)
    target = demo.households_in(TOWNSHIP_1)[1]
    team = [demo.user("inv1").id, users.get_by_username("sup_t1").id]
    body = survey(target, {"address": "督导同行"}, investigators=team)
    response = api.as_user("inv1").post("/api/v1/submissions", json=body)
    assert response.status_code == 201, response.get_json()
    url = f"/api/v1/submissions/{body['instance_id']}/review"
    refused = api.as_user("sup_t1").post(url, json={"state": "approved", "comment": ""})
    assert refused.status_code == 403 and refused.get_json()["code"] == "review.own_survey"
    assert review_state(body["instance_id"]) == "received"


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("zh", "您参与了这次调查，须由其他审核人员决定"),
        ("en", "You took part in this survey: another supervisor decides on it"),
    ],
)
def test_the_console_offers_no_decision_and_refuses_one_posted(console, own_survey, lang, words):
    """The page says why there is no decision form, in its language; a decision posted
    anyway (a page kept open from before) is refused, 403, with the same words."""
    client = console.as_user("sup_t1")
    client.post("/console/language", {"lang": lang})
    page = client.text(f"/console/submissions/{own_survey}")
    assert words in page
    assert f'action="/console/submissions/{own_survey}/review' not in page
    response = client.post(
        f"/console/submissions/{own_survey}/review",
        {"state": "has_issues", "comment": "请补拍厨房"},
    )
    assert response.status_code == 403
    assert words.lower() in response.get_data(as_text=True).lower()
    assert review_state(own_survey) == "received"
    other = console.as_user("sup1").text(f"/console/submissions/{own_survey}")
    assert f'action="/console/submissions/{own_survey}/review' in other
    assert 'id="took-part"' not in other
