"""Submissions: exactly once, merged into the master record, never a silent loss."""

import pytest
from sqlalchemy import select

from server.extensions import db
from server.models import AuditEntry, Conflict, Household, Submission
from server.services import users
from tests.conftest import DEMO_PASSWORD, TOWNSHIP_1, TOWNSHIP_2
from tests.sync_helpers import (
    count_submissions,
    frozen,
    household,
    new_id,
    survey,
    versions_of,
)

URL = "/api/v1/submissions"


@pytest.fixture
def team(demo):
    """The investigator ids of township 1's team."""
    return [demo.user("inv1").id, demo.user("inv2").id]


@pytest.fixture
def target(demo):
    """A township-1 household with at least two members (its values before the test)."""
    return frozen(next(h for h in demo.households_in(TOWNSHIP_1) if len(h.members) >= 2))


def post(client, body):
    """Post a submission and return (status, json)."""
    response = client.post(URL, json=body)
    return response.status_code, response.get_json()


# --- receiving once --------------------------------------------------------------------------


def test_first_post_merges_and_answers_201(api, target, team):
    """A new submission lands in the master record as a new version naming its source."""
    body = survey(target, {"address": "新兴村3组8号", "phone": "13912345678"},
                  investigators=team)
    status, outcome = post(api.as_user("inv1"), body)
    assert status == 201
    assert outcome["status"] == "complete" and outcome["merge_state"] == "merged"
    assert outcome["review_state"] == "received" and outcome["conflicts"] == []
    assert outcome["household_version"] == target.version + 1
    fresh = household(target.id)
    assert (fresh.address, fresh.phone) == ("新兴村3组8号", "13912345678")
    last = versions_of(target.id)[-1]
    assert (last.cause, last.source_ref) == ("submission", body["instance_id"])
    assert {c["path"] for c in last.changes} == {"household.address", "household.phone"}
    assert db.session.scalar(select(AuditEntry).where(
        AuditEntry.action == "submission.receive",
        AuditEntry.object_id == body["instance_id"])) is not None


def test_identical_retry_answers_200_with_the_same_outcome(api, target, team):
    """A retry never duplicates: same outcome, one row, one version."""
    inv1 = api.as_user("inv1")
    body = survey(target, {"address": "重试路1号"}, investigators=team)
    first = post(inv1, body)
    again = post(inv1, body)
    assert (first[0], again[0]) == (201, 200)
    assert {k: v for k, v in again[1].items()} == first[1]
    assert count_submissions(body["instance_id"]) == 1
    assert household(target.id).version == first[1]["household_version"] == target.version + 1


def test_retry_with_equivalent_times_is_still_identical(api, target, team):
    """The same instant written with another offset is the same body."""
    inv1 = api.as_user("inv1")
    body = survey(target, {"address": "时区路1号"}, investigators=team)
    assert post(inv1, body)[0] == 201
    body2 = {**body, "started_at": "2026-05-02T01:00:00Z", "completed_at": "2026-05-02T01:40:00Z"}
    assert post(inv1, body2)[0] == 200


def test_a_body_stored_under_the_older_hash_is_still_its_own_retry(api, target, team):
    """Bodies stored before the hash was written with orjson carry the standard library's
    hash, which differs where a number is written in exponent form (an accuracy of
    0.00001): their identical retry is still 200, a changed body still 409."""
    from server.schemas.submission import submission_schema
    from server.services import sync

    inv1 = api.as_user("inv1")
    body = survey(target, {"address": "旧哈希路1号"}, investigators=team,
                  location={"lat": 48.03, "lon": 125.88, "accuracy": 0.00001})
    assert post(inv1, body)[0] == 201
    loaded = submission_schema.load(body)
    older = sync._hash_as_json_writes_it(loaded)
    assert older != sync.canonical_hash(loaded)  # the case the fallback is for
    stored = db.session.scalar(select(Submission).filter_by(instance_id=body["instance_id"]))
    stored.body_hash = older
    db.session.commit()
    assert post(inv1, body)[0] == 200
    status, error = post(inv1, {**body, "answers": {"address": "旧哈希路2号"}})
    assert status == 409 and error["code"] == "submission.changed"
    assert count_submissions(body["instance_id"]) == 1


def test_the_body_hash_takes_any_integer_and_sorts_keys():
    """orjson refuses integers beyond 64 bits: such a body is hashed as json writes it.
    Key order never matters."""
    from server.services import sync

    huge = {"answers": {"b": 2**70, "a": 1}}
    assert sync.canonical_hash(huge) == sync._hash_as_json_writes_it(huge)
    assert sync.canonical_hash({"a": 1, "b": [1.5, "甲"]}) == sync.canonical_hash(
        {"b": [1.5, "甲"], "a": 1})


def test_same_instance_id_with_another_body_is_409(api, target, team):
    """A changed body under a used instance_id is refused, nothing changes."""
    inv1 = api.as_user("inv1")
    body = survey(target, {"address": "甲"}, investigators=team)
    post(inv1, body)
    status, error = post(inv1, {**body, "answers": {"address": "乙"}})
    assert status == 409 and error["code"] == "submission.changed"
    assert household(target.id).address == "甲"


@pytest.mark.parametrize(("change", "field"), [
    ({"instance_id": "not-a-uuid"}, "instance_id"),
    ({"instance_id": None}, "instance_id"),
    ({"form_id": ""}, "form_id"),
    ({"base_version": None}, "base_version"),
    ({"base_version": 0}, "base_version"),
    ({"answers": ["address"]}, "answers"),
    ({"investigator_ids": []}, "investigator_ids"),
    ({"investigator_ids": [99999]}, "investigator_ids"),
    ({"started_at": "yesterday"}, "started_at"),
    ({"media": [{"sha256": "xyz", "size": 10, "content_type": "image/jpeg"}]}, "media"),
    ({"media": [{"sha256": "a" * 64, "size": 0, "content_type": "image/jpeg"}]}, "media"),
    ({"media": [{"sha256": "a" * 64, "size": 5, "content_type": "text/plain"}]}, "media"),
    ({"media": [{"sha256": "a" * 64, "size": 999_999_999, "content_type": "image/jpeg"}]},
     "media.0.size"),
    ({"answers": {"phone": 13800000000}}, "answers.household.phone"),
    ({"answers": {"lat": "north"}}, "answers.household.lat"),
    ({"answers": {"members": [{"name": "无编号"}]}}, "answers.members[0].id"),
    ({"answers": {"members": [{"id": "m1", "name": "x", "birth_date": "1990-13-40"}]}},
     "answers.members.m1.birth_date"),
])
def test_bad_bodies_get_field_level_422(api, target, team, change, field):
    """Bad input is refused with the field named, and nothing is stored."""
    body = {**survey(target, {"address": "x"}, investigators=team), **change}
    status, error = post(api.as_user("inv1"), body)
    assert status == 422, error
    assert error["code"] == "validation.failed"
    assert any(key == field or key.startswith(field) for key in error["errors"]), error
    assert count_submissions() == 0


def test_unknown_form_is_422(api, target, team):
    """A form the server does not know is refused."""
    body = survey(target, {}, investigators=team, form_id="nope", form_version="9")
    status, error = post(api.as_user("inv1"), body)
    assert status == 422 and error["code"] == "form.unknown"
    assert {"form_id", "form_version"} & set(error["errors"])


def test_a_base_version_the_household_never_had_is_422(api, target, team):
    """Without a predecessor to wait for, an unknown base is refused, never held."""
    body = survey(target, {"address": "x"}, base_version=target.version + 5, investigators=team)
    status, error = post(api.as_user("inv1"), body)
    assert status == 422 and error["code"] == "submission.unknown_base"
    assert count_submissions() == 0


# --- scope -----------------------------------------------------------------------------------


def test_household_outside_the_senders_scope_is_403(api, demo, team):
    """inv3 (township 2) cannot submit for a township-1 household."""
    outside = demo.households_in(TOWNSHIP_1)[0]
    status, error = post(api.as_user("inv3"), survey(outside, {"address": "x"},
                                                     investigators=team))
    assert status == 403 and error["code"] == "scope.forbidden"
    assert count_submissions() == 0


def test_unknown_household_is_404(api, target, team):
    """A household id that does not exist is 404."""
    body = {**survey(target, {"address": "x"}, investigators=team), "household_id": 999999}
    assert post(api.as_user("inv1"), body)[0] == 404


def test_moving_a_household_to_a_village_outside_scope_is_403(api, demo, target, team):
    """A submission may not move a household out of the sender's region."""
    other_village = demo.households_in(TOWNSHIP_2)[0].village_id
    status, _ = post(api.as_user("inv1"), survey(target, {"village_id": other_village},
                                                 investigators=team))
    assert status == 403


def test_without_a_token_is_401(client, target, team):
    """Submitting needs a signed-in phone."""
    assert client.post(URL, json=survey(target, {}, investigators=team)).status_code == 401


# --- merging ---------------------------------------------------------------------------------


def test_both_changed_differently_is_a_conflict_and_the_server_value_stays(api, target, team):
    """Two teams from the same base: the second one's different value becomes a conflict."""
    inv1, inv2 = api.as_user("inv1"), api.as_user("inv2")
    first = survey(target, {"address": "甲队地址"}, investigators=team)
    second = survey(target, {"address": "乙队地址", "phone": "13700000000"},
                    investigators=team, device_id="phone-B")
    assert post(inv1, first)[0] == 201
    status, outcome = post(inv2, second)
    assert status == 201
    assert [(c["path"], c["base"], c["server"], c["submitted"]) for c in outcome["conflicts"]] \
        == [("household.address", target.address, "甲队地址", "乙队地址")]
    conflict = outcome["conflicts"][0]
    assert conflict["server_source"] == f"submission:{first['instance_id']}"
    assert conflict["instance_id"] == second["instance_id"] and conflict["status"] == "open"
    fresh = household(target.id)
    assert fresh.address == "甲队地址" and fresh.phone == "13700000000"
    history = api.as_user("sup1").get(f"/api/v1/households/{target.id}/history").get_json()
    assert history["open_conflicts"] == 1


def test_both_changed_to_the_same_value_is_no_conflict(api, target, team):
    """Agreement is not a conflict."""
    inv1, inv2 = api.as_user("inv1"), api.as_user("inv2")
    post(inv1, survey(target, {"address": "同一地址"}, investigators=team))
    status, outcome = post(inv2, survey(target, {"address": "同一地址"}, investigators=team))
    assert status == 201 and outcome["conflicts"] == []


def test_a_value_equal_to_the_base_never_conflicts(api, target, team):
    """A form sends every field it shows: an untouched field is not a change."""
    inv1, inv2 = api.as_user("inv1"), api.as_user("inv2")
    post(inv1, survey(target, {"address": "新地址"}, investigators=team))
    status, outcome = post(inv2, survey(target, {"address": target.address, "phone": "1"},
                                        investigators=team))
    assert outcome["conflicts"] == []
    assert household(target.id).address == "新地址"


def test_two_phones_adding_different_members_both_land(api, target, team):
    """Members merge by UUID."""
    inv1, inv2 = api.as_user("inv1"), api.as_user("inv2")
    a, b = new_id(), new_id()
    post(inv1, survey(target, {"members": [{"id": a, "name": "新成员甲", "relation": "child"}]},
                      investigators=team))
    status, outcome = post(inv2, survey(
        target, {"members": [{"id": b, "name": "新成员乙", "relation": "child"}]},
        investigators=team))
    assert outcome["conflicts"] == []
    names = {m.id: m.name for m in household(target.id).members}
    assert names[a] == "新成员甲" and names[b] == "新成员乙"


def test_edit_versus_removal_of_a_member_is_a_conflict(api, target, team):
    """One team removes a member the other edited: the member stays, a conflict opens."""
    inv1, inv2 = api.as_user("inv1"), api.as_user("inv2")
    member = target.members[-1]
    post(inv1, survey(target, {"members": [{"id": member.id, "occupation": "测试职业"}]},
                      investigators=team))
    status, outcome = post(inv2, survey(target, {"members": [{"id": member.id,
                                                              "_removed": True}]},
                                        investigators=team))
    assert [c["path"] for c in outcome["conflicts"]] == [f"members.{member.id}"]
    assert outcome["conflicts"][0]["submitted"] is None
    assert member.id in {m.id for m in household(target.id).members}


def test_a_new_member_without_a_name_is_422(api, target, team):
    """A new item must carry its required fields."""
    body = survey(target, {"members": [{"id": new_id(), "occupation": "务农"}]},
                  investigators=team)
    status, error = post(api.as_user("inv1"), body)
    assert status == 422 and any("members" in k for k in error["errors"])


def test_a_member_id_of_another_household_is_422(api, demo, target, team):
    """Item UUIDs are global: another household's member cannot be added here."""
    stranger = demo.households_in(TOWNSHIP_1)[-1].members[0].id
    body = survey(target, {"members": [{"id": stranger, "name": "冒名"}]}, investigators=team)
    status, error = post(api.as_user("inv1"), body)
    assert status == 422 and f"answers.members.{stranger}" in error["errors"]


def test_items_of_other_households_are_422_in_every_collection(api, demo, target, team):
    """One look covers every collection: a member and an asset of other households, and
    the sender's new item beside them, give errors for the strangers only."""
    others = [h for h in demo.households_in(TOWNSHIP_1) if h.id != target.id]
    member = others[-1].members[0].id
    asset = next(a.id for h in others for a in h.assets)
    body = survey(target, {"members": [{"id": member, "name": "冒名"},
                                       {"id": new_id(), "name": "新人", "relation": "child"}],
                           "assets": [{"id": asset, "category": "vehicle"}]},
                  investigators=team)
    status, error = post(api.as_user("inv1"), body)
    assert status == 422
    assert {k for k in error["errors"] if k.startswith("answers.")} == {
        f"answers.members.{member}", f"answers.assets.{asset}"}


def test_new_application_creates_a_household_pending_review(api, demo, team):
    """household_id null: a new household is registered in the sender's scope."""
    village = demo.households_in(TOWNSHIP_1)[0].village_id
    member = new_id()
    body = survey(None, {"village_id": village, "address": "新兴村9组1号",
                         "members": [{"id": member, "name": "申请人", "relation": "self"}]},
                  investigators=team)
    status, outcome = post(api.as_user("inv1"), body)
    assert status == 201, outcome
    created = household(outcome["household_id"])
    assert created.status == "pending_review" and created.village_id == village
    assert [m.id for m in created.members] == [member]
    assert versions_of(created.id)[0].source_ref == body["instance_id"]
    assert post(api.as_user("inv1"), body)[0] == 200
    assert db.session.scalar(select(Household.id).order_by(Household.id.desc())) == created.id


def test_new_application_outside_scope_or_without_village(api, demo, team):
    """A new household needs a village, and one in the sender's scope."""
    inv1 = api.as_user("inv1")
    status, error = post(inv1, survey(None, {"address": "x"}, investigators=team))
    assert status == 422 and "answers.household.village_id" in error["errors"]
    other = demo.households_in(TOWNSHIP_2)[0].village_id
    body = survey(None, {"village_id": other, "members": [{"id": new_id(), "name": "x"}]},
                  investigators=team)
    assert post(inv1, body)[0] == 403


# --- offline chains --------------------------------------------------------------------------


def chain(target, team, *answers, device="phone-A"):
    """Return bodies of one phone's chained submissions, all from the same base."""
    bodies, previous = [], None
    for answer in answers:
        body = survey(target, answer, investigators=team, device_id=device,
                      previous_instance_id=previous)
        bodies.append(body)
        previous = body["instance_id"]
    return bodies


def test_chained_edits_arriving_in_order_never_conflict(api, target, team):
    """Link 2 changes the field link 1 changed: the phone's own edits, no conflict."""
    inv1 = api.as_user("inv1")
    first, second = chain(target, team, {"address": "一改"}, {"address": "二改"})
    assert post(inv1, first)[1]["conflicts"] == []
    status, outcome = post(inv1, second)
    assert outcome["conflicts"] == [] and outcome["merge_state"] == "merged"
    assert household(target.id).address == "二改"


def test_chained_edits_arriving_in_reverse_order_no_false_conflict(api, target, team):
    """The later link is held until its predecessor is merged, then released."""
    inv1 = api.as_user("inv1")
    first, second = chain(target, team, {"address": "一改", "phone": "1"}, {"address": "二改"})
    status, held = post(inv1, second)
    assert status == 201 and held["merge_state"] == "held"
    assert household(target.id).address == target.address
    status, outcome = post(inv1, first)
    assert outcome["merge_state"] == "merged" and outcome["conflicts"] == []
    released = inv1.get(f"{URL}/{second['instance_id']}").get_json()
    assert released["merge_state"] == "merged" and released["conflicts"] == []
    fresh = household(target.id)
    assert (fresh.address, fresh.phone) == ("二改", "1")
    assert [v.source_ref for v in versions_of(target.id)[-2:]] == [
        first["instance_id"], second["instance_id"]]


def test_another_teams_change_between_two_links_is_a_conflict_not_an_overwrite(
        api, target, team):
    """The phone never saw team B's address: its second link changing it is a conflict."""
    inv1, inv2 = api.as_user("inv1"), api.as_user("inv2")
    first, second = chain(target, team, {"phone": "13600000000"}, {"address": "甲机地址"})
    post(inv1, first)
    post(inv2, survey(target, {"address": "乙队地址"}, investigators=team, device_id="B"))
    status, outcome = post(inv1, second)
    assert [(c["path"], c["server"], c["submitted"]) for c in outcome["conflicts"]] == [
        ("household.address", "乙队地址", "甲机地址")]
    assert household(target.id).address == "乙队地址"


def test_another_teams_change_on_a_field_the_chain_did_not_touch_survives(api, target, team):
    """Using the phone's view as base keeps other teams' changes to other fields."""
    inv1, inv2 = api.as_user("inv1"), api.as_user("inv2")
    first, second = chain(target, team, {"address": "甲一"},
                          {"address": "甲二", "phone": target.phone})
    post(inv1, first)
    post(inv2, survey(target, {"phone": "13500000000"}, investigators=team, device_id="B"))
    assert post(inv1, second)[1]["conflicts"] == []
    fresh = household(target.id)
    assert (fresh.address, fresh.phone) == ("甲二", "13500000000")


def test_a_link_naming_someone_elses_submission_does_not_take_its_change_as_seen(
        api, target, team):
    """inv1 names inv2's merged submission as its predecessor: a chain is one phone's, so
    inv2's change is not inv1's view, and inv1 changing the same answer is a conflict, not
    a silent overwrite of inv2's change."""
    inv1, inv2 = api.as_user("inv1"), api.as_user("inv2")
    theirs = survey(target, {"address": "乙队地址"}, investigators=team, device_id="B")
    assert post(inv2, theirs)[1]["conflicts"] == []
    mine = survey(target, {"address": "甲机地址"}, investigators=team,
                  previous_instance_id=theirs["instance_id"])
    status, outcome = post(inv1, mine)
    assert status == 201 and outcome["merge_state"] == "merged"
    assert [(c["path"], c["server"], c["submitted"]) for c in outcome["conflicts"]] == [
        ("household.address", "乙队地址", "甲机地址")]
    assert household(target.id).address == "乙队地址"
    stored = db.session.scalar(select(Submission).where(
        Submission.instance_id == mine["instance_id"]))
    assert stored.merge_base["chain"] == []


def test_a_held_link_released_by_someone_elses_submission_keeps_the_conflict(
        api, target, team):
    """The same, arriving first: held for the named submission, then merged on its own base
    once inv2's arrives."""
    inv1, inv2 = api.as_user("inv1"), api.as_user("inv2")
    theirs = survey(target, {"address": "乙队地址"}, investigators=team, device_id="B")
    mine = survey(target, {"address": "甲机地址"}, investigators=team,
                  previous_instance_id=theirs["instance_id"])
    assert post(inv1, mine)[1]["merge_state"] == "held"
    assert post(inv2, theirs)[1]["conflicts"] == []
    released = inv1.get(f"{URL}/{mine['instance_id']}").get_json()
    assert released["merge_state"] == "merged"
    assert [(c["path"], c["server"], c["submitted"]) for c in released["conflicts"]] == [
        ("household.address", "乙队地址", "甲机地址")]
    assert household(target.id).address == "乙队地址"


def test_a_chain_arriving_completely_backwards(api, target, team):
    """Four links posted last-first: all held, then released in a cascade, no conflicts."""
    inv1 = api.as_user("inv1")
    member = new_id()
    links = chain(target, team,
                  {"members": [{"id": member, "name": "新生儿", "relation": "child"}]},
                  {"members": [{"id": member, "name": "新生儿", "occupation": "学龄前"}]},
                  {"address": "三改"},
                  {"address": "四改", "members": [{"id": member, "name": "王小宝"}]})
    for body in reversed(links[1:]):
        assert post(inv1, body)[1]["merge_state"] == "held"
    assert household(target.id).version == target.version
    status, outcome = post(inv1, links[0])
    assert status == 201 and outcome["conflicts"] == []
    for body in links:
        got = inv1.get(f"{URL}/{body['instance_id']}").get_json()
        assert got["merge_state"] == "merged" and got["conflicts"] == [], got
    fresh = household(target.id)
    baby = next(m for m in fresh.members if m.id == member)
    assert (fresh.address, baby.name, baby.occupation) == ("四改", "王小宝", "学龄前")
    assert [v.source_ref for v in versions_of(target.id)[-4:]] == [
        b["instance_id"] for b in links]


def test_a_phone_that_downloaded_after_its_first_link_uses_the_new_base(api, target, team):
    """Link 2 based on the version link 1 produced is merged against that version."""
    inv1, inv2 = api.as_user("inv1"), api.as_user("inv2")
    first = survey(target, {"address": "一改"}, investigators=team)
    produced = post(inv1, first)[1]["household_version"]
    post(inv2, survey(target, {"phone": "13400000000"}, investigators=team, device_id="B"))
    second = survey(target, {"address": "二改", "phone": "13400000000"},
                    base_version=produced + 1, investigators=team,
                    previous_instance_id=first["instance_id"])
    assert post(inv1, second)[1]["conflicts"] == []
    assert household(target.id).address == "二改"


def test_a_predecessor_that_never_comes_holds_until_a_supervisor_releases(api, target, team):
    """Released on the phone's original base: a real conflict stays visible."""
    inv1, inv2, sup1 = api.as_user("inv1"), api.as_user("inv2"), api.as_user("sup1")
    lost, second = chain(target, team, {"phone": "1"}, {"address": "甲机地址"})
    assert post(inv1, second)[1]["merge_state"] == "held"
    post(inv2, survey(target, {"address": "乙队地址"}, investigators=team, device_id="B"))
    assert inv1.post(f"{URL}/{second['instance_id']}/release").status_code == 403
    response = sup1.post(f"{URL}/{second['instance_id']}/release")
    assert response.status_code == 200
    outcome = response.get_json()
    assert outcome["merge_state"] == "merged"
    assert [c["path"] for c in outcome["conflicts"]] == ["household.address"]
    assert sup1.post(f"{URL}/{second['instance_id']}/release").status_code == 409


def test_a_supervisor_releases_their_own_held_link_only_while_they_supervise_the_household(
        api, demo, target):
    """A township supervisor who sent a chain may see its held link after the household
    moved to another township, but no longer act on it: 403, still held; the county
    supervisor releases it."""
    users.add_user("sup_t1", role="supervisor", region_code=TOWNSHIP_1, password=DEMO_PASSWORD)
    sup_t1, sup1 = api.as_user("sup_t1"), api.as_user("sup1")
    team = [users.get_by_username("sup_t1").id]
    _lost, second = chain(target, team, {"phone": "1"}, {"address": "督导的第二份"})
    assert post(sup_t1, second)[1]["merge_state"] == "held"
    moved = db.session.get(Household, target.id)
    moved.village_id = demo.households_in(TOWNSHIP_2)[0].village_id
    db.session.commit()
    assert sup_t1.get(f"{URL}/{second['instance_id']}").status_code == 200  # its sender
    refused = sup_t1.post(f"{URL}/{second['instance_id']}/release")
    assert refused.status_code == 403 and refused.get_json()["code"] == "scope.forbidden"
    assert sup_t1.get(f"{URL}/{second['instance_id']}").get_json()["merge_state"] == "held"
    released = sup1.post(f"{URL}/{second['instance_id']}/release")
    assert released.status_code == 200 and released.get_json()["merge_state"] == "merged"


@pytest.mark.parametrize("app_config", [{"SYNC_HOLD_SECONDS": 0}])
def test_a_held_link_is_released_after_the_configured_wait(api, target, team):
    """When the wait has passed, listing outcomes releases held chains."""
    inv1 = api.as_user("inv1")
    _, second = chain(target, team, {"phone": "1"}, {"address": "等够了"})
    assert post(inv1, second)[1]["merge_state"] == "held"
    page = inv1.get(f"{URL}?mine=1&since=0").get_json()
    assert page["submissions"][-1]["merge_state"] == "merged"
    assert household(target.id).address == "等够了"


def test_held_link_with_an_unknown_base_waits_for_its_predecessor(api, target, team):
    """An unknown base with a predecessor to wait for is held, not refused."""
    inv1 = api.as_user("inv1")
    first, second = chain(target, team, {"phone": "1"}, {"address": "二"})
    second["base_version"] = target.version + 1
    assert post(inv1, second)[1]["merge_state"] == "held"
    assert post(inv1, first)[0] == 201
    got = inv1.get(f"{URL}/{second['instance_id']}").get_json()
    assert got["merge_state"] == "merged" and got["conflicts"] == []


def test_a_new_households_chain_lands_in_the_created_household(api, demo, team):
    """Link 2 of a new application (household_id null) merges into what link 1 created."""
    inv1 = api.as_user("inv1")
    village = demo.households_in(TOWNSHIP_1)[0].village_id
    member = new_id()
    first = survey(None, {"village_id": village, "address": "一",
                          "members": [{"id": member, "name": "申请人"}]}, investigators=team)
    second = survey(None, {"address": "二", "members": [{"id": member, "name": "申请人",
                                                          "occupation": "无业"}]},
                    investigators=team, previous_instance_id=first["instance_id"])
    assert post(inv1, second)[1]["merge_state"] == "held"
    created = post(inv1, first)[1]["household_id"]
    got = inv1.get(f"{URL}/{second['instance_id']}").get_json()
    assert got["household_id"] == created and got["conflicts"] == []
    fresh = household(created)
    assert fresh.address == "二" and fresh.members[0].occupation == "无业"


# --- conflicts -------------------------------------------------------------------------------


def make_conflict(api, target, team) -> dict:
    """Create an address conflict and return it (from the supervisor's list)."""
    post(api.as_user("inv1"), survey(target, {"address": "甲"}, investigators=team))
    post(api.as_user("inv2"), survey(target, {"address": "乙"}, investigators=team))
    listing = api.as_user("sup1").get("/api/v1/conflicts?status=open").get_json()
    (conflict,) = [c for c in listing["conflicts"] if c["household_id"] == target.id]
    conflict["seen_version"] = listing["household_versions"][str(target.id)]
    return conflict


def test_supervisor_resolves_a_conflict_with_the_submitted_value(api, target, team):
    """Resolving writes a new version and closes the conflict; the phone learns it."""
    conflict = make_conflict(api, target, team)
    sup1 = api.as_user("sup1")
    response = sup1.post(f"/api/v1/conflicts/{conflict['id']}/resolve",
                         json={"choice": "submitted", "seen_version": conflict["seen_version"],
                               "comment": "核实为乙"})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "resolved"
    fresh = household(target.id)
    assert fresh.address == "乙" and fresh.version == conflict["seen_version"] + 1
    assert versions_of(target.id)[-1].cause == "conflict"
    assert sup1.get("/api/v1/conflicts?status=open").get_json()["conflicts"] == []
    again = sup1.post(f"/api/v1/conflicts/{conflict['id']}/resolve",
                      json={"choice": "server", "seen_version": fresh.version})
    assert again.status_code == 409 and again.get_json()["code"] == "conflict.closed"


def test_resolving_with_a_new_value_and_type_checks(api, target, team):
    """A new value is allowed, but must fit the field."""
    conflict = make_conflict(api, target, team)
    sup1 = api.as_user("sup1")
    url = f"/api/v1/conflicts/{conflict['id']}/resolve"
    bad = sup1.post(url, json={"choice": "value", "value": 12,
                               "seen_version": conflict["seen_version"]})
    assert bad.status_code == 422
    unknown = sup1.post(url, json={"choice": "mine", "seen_version": conflict["seen_version"]})
    assert unknown.status_code == 422
    ok = sup1.post(url, json={"choice": "value", "value": "丙",
                              "seen_version": conflict["seen_version"]})
    assert ok.status_code == 200 and household(target.id).address == "丙"


def test_a_resolution_on_a_stale_view_is_409(api, target, team):
    """If the field changed after the supervisor looked, the decision is refused."""
    conflict = make_conflict(api, target, team)
    post(api.as_user("inv1"), survey(household(target.id), {"address": "丁"},
                                     investigators=team))
    response = api.as_user("sup1").post(
        f"/api/v1/conflicts/{conflict['id']}/resolve",
        json={"choice": "submitted", "seen_version": conflict["seen_version"]})
    assert response.status_code == 409 and response.get_json()["code"] == "conflict.stale"
    assert household(target.id).address == "丁"


def test_an_ordinary_edit_does_not_clear_an_open_conflict(api, target, team):
    """A later survey changing the field leaves the conflict open for the supervisor."""
    conflict = make_conflict(api, target, team)
    post(api.as_user("inv1"), survey(household(target.id), {"address": "丁"},
                                     investigators=team))
    still = db.session.get(Conflict, conflict["id"])
    db.session.refresh(still)
    assert still.status == "open"


def test_unrelated_change_does_not_make_a_view_stale(api, target, team):
    """Only a change to the conflicting field makes the supervisor's view stale."""
    conflict = make_conflict(api, target, team)
    post(api.as_user("inv1"), survey(household(target.id), {"phone": "1"}, investigators=team))
    response = api.as_user("sup1").post(
        f"/api/v1/conflicts/{conflict['id']}/resolve",
        json={"choice": "submitted", "seen_version": conflict["seen_version"]})
    assert response.status_code == 200


def test_investigators_cannot_resolve_or_list_conflicts(api, target, team):
    """Conflicts are for supervisors."""
    conflict = make_conflict(api, target, team)
    inv1 = api.as_user("inv1")
    assert inv1.get("/api/v1/conflicts").status_code == 403
    assert inv1.post(f"/api/v1/conflicts/{conflict['id']}/resolve",
                     json={"choice": "server", "seen_version": 1}).status_code == 403


def test_member_conflict_resolved_by_removing_the_member(api, target, team):
    """An edit-vs-removal conflict is resolved on the whole member."""
    inv1, inv2, sup1 = api.as_user("inv1"), api.as_user("inv2"), api.as_user("sup1")
    member = target.members[-1]
    post(inv1, survey(target, {"members": [{"id": member.id, "occupation": "测试职业"}]},
                      investigators=team))
    outcome = post(inv2, survey(target, {"members": [{"id": member.id, "_removed": True}]},
                                investigators=team))[1]
    conflict = outcome["conflicts"][0]
    response = sup1.post(f"/api/v1/conflicts/{conflict['id']}/resolve",
                         json={"choice": "submitted",
                               "seen_version": household(target.id).version})
    assert response.status_code == 200, response.get_json()
    assert member.id not in {m.id for m in household(target.id).members}


# --- review ----------------------------------------------------------------------------------


def review(api, instance_id, state, comment=""):
    """Post a review decision as sup1."""
    return api.as_user("sup1").post(f"{URL}/{instance_id}/review",
                                    json={"state": state, "comment": comment})


def test_review_transitions_are_a_closed_set_and_kept(api, target, team):
    """received → has_issues → approved; approved → rejected is not allowed."""
    body = survey(target, {"address": "x"}, investigators=team)
    post(api.as_user("inv1"), body)
    assert review(api, body["instance_id"], "has_issues", "缺少签名").status_code == 200
    assert review(api, body["instance_id"], "approved", "已补签").status_code == 200
    bad = review(api, body["instance_id"], "rejected")
    assert bad.status_code == 409 and bad.get_json()["code"] == "review.invalid_transition"
    assert review(api, body["instance_id"], "bogus").status_code == 422
    submission = db.session.scalar(select(Submission).where(
        Submission.instance_id == body["instance_id"]))
    db.session.refresh(submission)
    trail = [(r.from_state, r.to_state, r.comment, r.actor_id) for r in submission.reviews]
    sup = api.as_user("sup1").user["id"]
    assert trail == [("received", "has_issues", "缺少签名", sup),
                     ("has_issues", "approved", "已补签", sup)]
    assert api.as_user("inv1").post(f"{URL}/{body['instance_id']}/review",
                                    json={"state": "approved"}).status_code == 403


def test_a_review_on_a_stale_state_is_refused(api, target, team):
    """With seen_state, a decision made since is not overturned (409 review.stale)."""
    body = survey(target, {"address": "y"}, investigators=team)
    post(api.as_user("inv1"), body)
    url = f"{URL}/{body['instance_id']}/review"
    sup1 = api.as_user("sup1")
    first = sup1.post(url, json={"state": "has_issues", "comment": "缺签名",
                                 "seen_state": "received"})
    assert first.status_code == 200
    stale = sup1.post(url, json={"state": "approved", "seen_state": "received"})
    assert stale.status_code == 409 and stale.get_json()["code"] == "review.stale"
    assert sup1.post(url, json={"state": "approved", "seen_state": "bogus"}).status_code == 422
    done = sup1.post(url, json={"state": "approved", "seen_state": "has_issues"})
    assert done.status_code == 200 and done.get_json()["review_state"] == "approved"


def test_rejection_reverts_changes_no_later_version_overwrote(api, target, team):
    """Rejecting undoes the address and the added member, not the phone a later survey set."""
    inv1, inv2 = api.as_user("inv1"), api.as_user("inv2")
    member = new_id()
    bad = survey(target, {"address": "错地址", "phone": "13000000000",
                          "members": [{"id": member, "name": "虚报成员"}]}, investigators=team)
    post(inv1, bad)
    post(inv2, survey(household(target.id), {"phone": "13111111111"}, investigators=team))
    response = review(api, bad["instance_id"], "rejected", "虚报")
    assert response.status_code == 200
    assert response.get_json()["review_comment"] == "虚报"
    fresh = household(target.id)
    assert fresh.address == target.address and fresh.phone == "13111111111"
    assert member not in {m.id for m in fresh.members}
    last = versions_of(target.id)[-1]
    assert (last.cause, last.source_ref) == ("revert", bad["instance_id"])
    assert {c["path"] for c in last.changes} == {"household.address", f"members.{member}"}


def test_rejecting_a_held_submission_discards_it(api, target, team):
    """A held link rejected before its merge never lands."""
    _, second = chain(target, team, {"phone": "1"}, {"address": "不要"})
    post(api.as_user("inv1"), second)
    outcome = review(api, second["instance_id"], "rejected").get_json()
    assert outcome["merge_state"] == "discarded"


def test_rejection_dismisses_the_submissions_open_conflicts(api, target, team):
    """A rejected submission's values are no longer candidates."""
    conflict = make_conflict(api, target, team)
    review(api, conflict["instance_id"], "rejected")
    assert db.session.get(Conflict, conflict["id"]).status == "dismissed"


# --- outcomes and history --------------------------------------------------------------------


def test_the_phone_learns_outcomes_since_its_cursor(api, target, team):
    """mine=1 lists only the caller's submissions; the cursor returns only what changed."""
    inv1, inv2 = api.as_user("inv1"), api.as_user("inv2")
    mine = survey(target, {"address": "甲"}, investigators=team)
    post(inv1, mine)
    post(inv2, survey(target, {"phone": "1"}, investigators=team))
    page = inv1.get(f"{URL}?mine=1").get_json()
    assert [s["instance_id"] for s in page["submissions"]] == [mine["instance_id"]]
    cursor = page["cursor"]
    assert inv1.get(f"{URL}?mine=1&since={cursor}").get_json()["submissions"] == []
    review(api, mine["instance_id"], "has_issues", "请补拍房屋照片")
    changed = inv1.get(f"{URL}?mine=1&since={cursor}").get_json()["submissions"]
    assert [(s["review_state"], s["review_comment"]) for s in changed] == [
        ("has_issues", "请补拍房屋照片")]


def test_outcome_feed_pages(api, target, team):
    """limit pages through the feed with `more`."""
    inv1 = api.as_user("inv1")
    for n in range(3):
        post(inv1, survey(household(target.id), {"address": f"第{n}"}, investigators=team))
    seen, since = [], 0
    while True:
        page = inv1.get(f"{URL}?mine=1&limit=2&since={since}").get_json()
        seen += page["submissions"]
        since = page["cursor"]
        if not page["more"]:
            break
    assert len(seen) == 3


def test_others_cannot_read_a_submission_or_list_all(api, target, team):
    """A submission is visible to its sender and supervisors in scope only."""
    body = survey(target, {"address": "x"}, investigators=team)
    post(api.as_user("inv1"), body)
    assert api.as_user("inv3").get(f"{URL}/{body['instance_id']}").status_code == 404
    assert api.as_user("sup1").get(f"{URL}/{body['instance_id']}").status_code == 200
    assert api.as_user("inv1").get(URL).status_code == 403
    listed = api.as_user("sup1").get(f"{URL}?household_id={target.id}").get_json()
    assert [s["instance_id"] for s in listed["submissions"]] == [body["instance_id"]]


def test_history_lists_versions_diffs_and_sources(api, target, team):
    """The history names the submission behind each version."""
    body = survey(target, {"address": "史"}, investigators=team)
    post(api.as_user("inv1"), body)
    response = api.as_user("inv1").get(f"/api/v1/households/{target.id}/history")
    assert response.status_code == 200
    history = response.get_json()
    newest = history["versions"][0]
    assert newest["source_ref"] == body["instance_id"]
    assert newest["submission"]["investigator_ids"] == team
    assert newest["changes"] == [{"path": "household.address", "old": target.address,
                                  "new": "史"}]
    assert api.as_user("inv3").get(f"/api/v1/households/{target.id}/history").status_code \
        == 403


# --- with the shipped survey form ------------------------------------------------------------


def test_the_shipped_survey_is_validated_merged_and_assessed(api, target, team):
    """A real survey: its bound answers land, and the assessment comes back with the outcome."""
    from server.domain.forms import content_hash
    from server.services import forms
    from tests.forms_helpers import answers

    shared = forms.find_form("dibao_household_survey", "2026.1")  # shared, not a copy
    hashed = content_hash(shared)
    body = survey(target, answers(), investigators=team, form_id="dibao_household_survey",
                  form_version="2026.1")
    status, outcome = post(api.as_user("inv1"), body)
    assert status == 201, outcome
    assert api.as_user("inv1").get("/api/v1/forms/dibao_household_survey").status_code == 200
    assert content_hash(forms.find_form("dibao_household_survey", "2026.1")) == hashed, \
        "a caller changed the shared form definition"
    assessment = outcome["assessment"]
    assert assessment["policy_id"] and "checks" in assessment
    assert {c["id"] for c in assessment["checks"]} >= {"two_investigators"}
    fresh = household(target.id)
    assert fresh.address == "城东社区3组12号"
    assert {m.name for m in fresh.members} >= {"王建国", "李秀英", "王小明"}


def test_answers_that_do_not_fit_the_survey_are_422(api, target, team):
    """The forms service's answer validation runs before anything is stored."""
    from tests.forms_helpers import answers

    bad = {**answers(), "housing_area": "很大"}
    body = survey(target, bad, investigators=team, form_id="dibao_household_survey",
                  form_version="2026.1")
    status, error = post(api.as_user("inv1"), body)
    assert status == 422 and "answers.housing_area" in error["errors"]
    unknown = {**body, "instance_id": new_id(), "form_version": "1999.1"}
    assert post(api.as_user("inv1"), unknown)[0] == 422
    assert count_submissions() == 0


def test_a_survey_dated_after_today_is_422_naming_the_visit_date(api, target, team):
    """A visit date after today (in any time zone) is refused with its path and a message
    in both languages; today on a phone in China (UTC+8: a day ahead of UTC from 16:00 UTC)
    is accepted."""
    from datetime import UTC, datetime, timedelta

    from tests.forms_helpers import answers

    china_today = (datetime.now(UTC) + timedelta(hours=8)).date()
    late = (china_today + timedelta(days=2)).isoformat()
    body = survey(target, {**answers(), "visit_date": late}, investigators=team,
                  form_id="dibao_household_survey", form_version="2026.1")
    status, error = post(api.as_user("inv1"), body)
    assert status == 422, error
    assert error["errors"] == {
        "answers.visit_date": [f"调查日期{late}晚于今天 / the visit date {late} is after today"]}
    assert count_submissions() == 0
    body = survey(target, {**answers(), "visit_date": china_today.isoformat()},
                  investigators=team, form_id="dibao_household_survey", form_version="2026.1")
    status, outcome = post(api.as_user("inv1"), body)
    assert status == 201, outcome


def test_id_numbers_are_stored_as_the_card_writes_them(api, target, team):
    """An ID number bound to the record is kept without spaces and with an upper-case X,
    whatever the phone sent: a supporter's number (no length rule in the form) typed in
    groups with a small x, and a member's small x."""
    from tests.forms_helpers import answers

    given = answers()
    given["members"][1]["member_id_number"] = "11010519491231002x"
    given["supporters"] = [{"id": "s-tidy", "supporter_name": "王大", "supporter_relation": "child",
                            "supporter_id_number": "230229 19800101 001x",
                            "supporter_household_size": 3, "supporter_monthly_income": 2000}]
    body = survey(target, given, investigators=team,
                  form_id="dibao_household_survey", form_version="2026.1")
    status, outcome = post(api.as_user("inv1"), body)
    assert status == 201, outcome
    from server.models import Member, Supporter

    db.session.expire_all()
    assert db.session.get(Supporter, "s-tidy").id_number == "23022919800101001X"
    assert db.session.get(Member, given["members"][1]["id"]).id_number == "11010519491231002X"
