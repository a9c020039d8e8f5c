"""The merge's last writes as plain statements (services/merge_store.py): what the phone is
answered at once is what the database holds, as it was when the ORM wrote the rows."""

import pytest
from sqlalchemy import select

from server.extensions import db
from server.models import Conflict, SubmissionMedia
from tests.conftest import TOWNSHIP_1
from tests.sync_helpers import frozen, household, survey

URL = "/api/v1/submissions"
PHOTO = {"sha256": "b" * 64, "size": 2048, "content_type": "image/jpeg"}


@pytest.fixture
def team(demo):
    """The investigator ids of township 1's team."""
    return [demo.user("inv1").id, demo.user("inv2").id]


@pytest.fixture
def target(demo):
    """A township-1 household (its values before the test)."""
    return frozen(next(iter(demo.households_in(TOWNSHIP_1))))


def _answered_and_read_back(client, body) -> tuple[dict, dict]:
    """Post a submission; return its outcome as answered and as read back afterwards."""
    response = client.post(URL, json=body)
    assert response.status_code == 201, response.get_json()
    db.session.expire_all()
    again = client.get(f"{URL}/{body['instance_id']}")
    assert again.status_code == 200
    return response.get_json(), again.get_json()


def test_a_clean_merge_with_photos_answers_what_is_stored(api, target, team):
    """The outcome of a merge listing photos equals the stored submission's, field by field."""
    inv1 = api.as_user("inv1")
    body = survey(target, {"address": "存储路1号"}, investigators=team, media=[PHOTO])
    answered, stored = _answered_and_read_back(inv1, body)
    assert answered == stored
    assert answered["status"] == "awaiting_media" and answered["missing_media"] == [PHOTO["sha256"]]
    media = db.session.scalars(
        select(SubmissionMedia).where(SubmissionMedia.sha256 == PHOTO["sha256"])
    ).one()
    # The column defaults the ORM filled in: a photo listed without a question.
    assert (media.question, media.size, media.received_at) == ("", 2048, None)


def test_a_conflicting_merge_answers_its_stored_conflicts(api, target, team):
    """Conflicts written with the submission carry their ids, status and times as stored."""
    inv1, inv2 = api.as_user("inv1"), api.as_user("inv2")
    assert (
        inv1.post(URL, json=survey(target, {"address": "甲路1号"}, investigators=team)).status_code
        == 201
    )
    body = survey(
        target,
        {"address": "乙路2号", "phone": "13700000001"},
        investigators=team,
        device_id="phone-B",
    )
    answered, stored = _answered_and_read_back(inv2, body)
    assert answered == stored
    [conflict] = answered["conflicts"]
    row = db.session.get(Conflict, conflict["id"])
    assert (row.path, row.status, row.submitted_value) == ("household.address", "open", "乙路2号")
    assert conflict["created_at"] is not None


def test_the_household_row_and_its_version_are_written_once(api, target, team):
    """The household's fields, version, change number and update time are written; the
    submission's outcome number is the version's."""
    inv1 = api.as_user("inv1")
    before = household(target.id)
    change_seq, updated_at = before.change_seq, before.updated_at
    body = survey(target, {"address": "一次路3号"}, investigators=team)
    answered, _ = _answered_and_read_back(inv1, body)
    fresh = household(target.id)
    assert (fresh.address, fresh.version) == ("一次路3号", target.version + 1)
    assert answered["household_version"] == fresh.version
    assert fresh.change_seq > change_seq and fresh.updated_at > updated_at
    assert int(answered["seq"]) == fresh.change_seq
