"""The review queue, the submission page and its decisions, and conflict resolution."""

import re

import pytest
from sqlalchemy import select

from server.extensions import db
from server.models import AuditEntry, Conflict, Submission
from tests.conftest import TOWNSHIP_1
from tests.console_data import assessment, set_assessment

pytest_plugins = ["tests.console_helpers"]


@pytest.fixture
def township_1(demo):
    """The households of township 1."""
    return demo.households_in(TOWNSHIP_1)


@pytest.fixture
def team(demo):
    """Township 1's two investigators."""
    return [demo.user("inv1").id, demo.user("inv2").id]


def submission(instance_id: str) -> Submission:
    """Return a submission freshly read."""
    db.session.expire_all()
    return db.session.scalar(select(Submission).where(Submission.instance_id == instance_id))


def queue_ids(html: str) -> list[str]:
    """Return the instance ids linked from a queue page, in order."""
    return re.findall(r"/console/submissions/([0-9a-f-]{36})", html)


def test_queue_lists_received_submissions_with_counts(console, scenario, township_1, team):
    """The queue shows what waits for review, counted per state, with flags."""
    first = scenario.record_edit("inv1", township_1[0], {"address": "一组1号"},
                                 investigators=team)
    second = scenario.record_edit("inv1", township_1[1], {"address": "二组2号"},
                                  investigators=team)
    set_assessment(second, assessment(failed=2))
    page = console.as_user("sup1").text("/console/queue")
    assert set(queue_ids(page)) == {first, second}
    assert "2 项未通过" in page
    assert re.search(r'待审核 <span class="count">2</span>', page)


def test_the_queue_works_out_its_scope_once(console, scenario, township_1, team, demo,
                                            monkeypatch):
    """Its counts and its page share one answer to "does the scope hold everything?"."""
    from server.services import scope

    scenario.record_edit("inv1", township_1[0], {"address": "一组1号"}, investigators=team)
    client = console.as_user("sup1")
    asked = []
    original = scope.covers_everything

    def covers_everything(user):
        asked.append(user.id)
        return original(user)

    monkeypatch.setattr(scope, "covers_everything", covers_everything)
    assert len(queue_ids(client.text("/console/queue"))) == 1
    assert asked == [demo.user("sup1").id]


def test_queue_filters_by_flag_village_and_investigator(console, scenario, township_1, demo):
    """Each filter narrows the list; the flag counts stay visible."""
    solo = [demo.user("inv1").id]
    flagged = scenario.record_edit("inv1", township_1[0], {"address": "甲"}, investigators=solo)
    set_assessment(flagged, assessment(failed=1))
    county = scenario.record_edit("inv2", township_1[1], {"address": "乙"},
                                  investigators=[demo.user("inv2").id])
    set_assessment(county, assessment(county_review=True))
    missing = scenario.record_edit("inv1", township_1[2], {"address": "丙"}, investigators=solo,
                                   photos=[scenario.photo(near=township_1[2])], upload=False)
    client = console.as_user("sup1")
    assert queue_ids(client.text("/console/queue?flag=failed_checks")) == [flagged]
    assert queue_ids(client.text("/console/queue?flag=county_review")) == [county]
    assert queue_ids(client.text("/console/queue?flag=missing_photos")) == [missing]
    only_inv2 = queue_ids(client.text(f"/console/queue?investigator={demo.user('inv2').id}"))
    assert only_inv2 == [county]
    village = township_1[0].village.code
    assert flagged in queue_ids(client.text(f"/console/queue?village={village}"))
    assert county not in queue_ids(client.text(f"/console/queue?village={village}"))


def test_queue_pages_in_sql(console, scenario, township_1, team):
    """25 per page: the second page holds the rest, and the total is counted."""
    made = [scenario.record_edit("inv1", h, {"address": f"地址{i}"}, investigators=team)
            for i, h in enumerate(township_1[:12] * 3)]
    client = console.as_user("sup1")
    first = client.text("/console/queue?per_page=25")
    second = client.text("/console/queue?per_page=25&page=2")
    assert "共 36 条" in first
    assert len(queue_ids(first)) == 25 and len(queue_ids(second)) == 11
    assert set(queue_ids(first)) | set(queue_ids(second)) == set(made)


def test_bulk_approval_approves_only_clean_submissions(console, scenario, township_1, team):
    """A flagged submission ticked by hand is skipped, the clean ones are approved."""
    clean = [scenario.record_edit("inv1", h, {"address": "干净"}, investigators=team)
             for h in township_1[:2]]
    flagged = scenario.record_edit("inv1", township_1[2], {"address": "有问题"},
                                   investigators=team)
    set_assessment(flagged, assessment(failed=1))
    client = console.as_user("sup1")
    response = client.post("/console/queue/approve", {"instance_id": [*clean, flagged]})
    assert response.status_code == 302
    assert [submission(i).review_state for i in clean] == ["approved", "approved"]
    assert submission(flagged).review_state == "received"
    page = client.text("/console/queue")
    assert "已通过 2 份问卷" in page and "1 份未通过" in page


def test_bulk_approval_without_token_is_refused(console, scenario, township_1, team):
    """CSRF: a forged bulk approval approves nothing."""
    clean = scenario.record_edit("inv1", township_1[0], {"address": "x"}, investigators=team)
    response = console.as_user("sup1").post(
        "/console/queue/approve", {"instance_id": clean}, csrf=False
    )
    assert response.status_code == 400
    assert submission(clean).review_state == "received"


def test_has_issues_needs_a_comment_that_reaches_the_app(console, scenario, township_1, team,
                                                          api):
    """Sending back needs a reason; the investigator's outcome feed carries it."""
    instance = scenario.record_edit("inv1", township_1[0], {"address": "x"}, investigators=team)
    client = console.as_user("sup1")
    client.post(f"/console/submissions/{instance}/review", {"state": "has_issues"})
    assert submission(instance).review_state == "received"
    client.post(f"/console/submissions/{instance}/review",
                {"state": "has_issues", "comment": "缺少户口本照片"})
    assert submission(instance).review_state == "has_issues"
    outcome = api.as_user("inv1").get(f"/api/v1/submissions/{instance}").get_json()
    assert outcome["review_state"] == "has_issues"
    assert outcome["review_comment"] == "缺少户口本照片"
    page = client.text(f"/console/submissions/{instance}")
    assert "缺少户口本照片" in page and "刘主任" in page


def test_a_decision_from_a_stale_page_is_refused(console, scenario, township_1, team):
    """Two tabs on one submission: the second decision, made on the state the first one
    changed, is refused instead of overturning it; the page's form carries no old comment."""
    instance = scenario.record_edit("inv1", township_1[1], {"address": "y"}, investigators=team)
    client = console.as_user("sup1")
    page = client.text(f"/console/submissions/{instance}")
    assert 'name="seen_state" value="received"' in page
    client.post(f"/console/submissions/{instance}/review",
                {"state": "has_issues", "comment": "户主签名缺失，请补签", "seen_state": "received"})
    page = client.post(f"/console/submissions/{instance}/review",
                       {"state": "approved", "comment": "", "seen_state": "received"}
                       ).get_data(as_text=True)
    assert submission(instance).review_state == "has_issues"
    assert submission(instance).review_comment == "户主签名缺失，请补签"
    assert "此问卷已被他人审核" in page
    # The comment box starts empty: approving now does not send the issue's comment again.
    assert re.search(r'<textarea name="comment"[^>]*></textarea>', page)
    assert 'name="seen_state" value="has_issues"' in page
    client.post(f"/console/submissions/{instance}/review",
                {"state": "approved", "comment": "", "seen_state": "has_issues"})
    assert submission(instance).review_state == "approved"
    assert submission(instance).review_comment is None


@pytest.mark.parametrize(
    ("language", "says"),
    [("zh", "此问卷已被他人审核，现为「有问题」"), ("en", "it is now Has issues.")],
)
def test_a_stale_decision_keeps_what_was_typed(console, scenario, township_1, team, language,
                                               says):
    """Two tabs: the one refused shows the submission as it is now, names its state in the
    page's language (no code such as has_issues), and keeps the comment typed and the
    choice of the next-in-queue box, so a long reason is not lost."""
    instance = scenario.record_edit("inv1", township_1[1], {"address": "y"}, investigators=team)
    client = console.as_user("sup1")
    client.post("/console/language", {"lang": language})
    client.post(f"/console/submissions/{instance}/review",
                {"state": "has_issues", "comment": "户主签名缺失", "seen_state": "received"})
    typed = "门牌照片与户编号不符，厨房照片缺失，请补拍后重新提交"
    response = client.post(f"/console/submissions/{instance}/review?sort=household",
                           {"state": "rejected", "comment": typed, "seen_state": "received"})
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert says in page
    assert "now has_issues" not in page
    assert f'<textarea name="comment" rows="3" maxlength="2000">{typed}</textarea>' in page
    assert 'name="seen_state" value="has_issues"' in page
    assert re.search(r'name="then" value="next">', page)  # the box was not ticked
    assert f'action="/console/submissions/{instance}/review?sort=household"' in page
    assert submission(instance).review_state == "has_issues"


def test_reject_undoes_the_change_and_shows_the_history(console, scenario, township_1, team):
    """Reject reverts what the survey changed; the history lists both steps."""
    household = township_1[0]
    old_address = household.address
    instance = scenario.record_edit("inv1", household, {"address": "错误地址"},
                                    investigators=team)
    client = console.as_user("sup1")
    client.post(f"/console/submissions/{instance}/review",
                {"state": "has_issues", "comment": "地址不对"})
    client.post(f"/console/submissions/{instance}/review",
                {"state": "rejected", "comment": "重复提交"})
    assert submission(instance).review_state == "rejected"
    db.session.expire_all()
    assert household.address == old_address
    page = client.text(f"/console/submissions/{instance}")
    assert "地址不对" in page and "重复提交" in page
    assert "已驳回，不能再更改" in page


def test_county_review_case_is_approved_at_county_level_only(console, scenario, township_1,
                                                             team, app):
    """A township supervisor cannot approve a county-review case; the county supervisor can."""
    from server.services import users

    users.add_user("sup1t", role="supervisor", region_code=TOWNSHIP_1, password="demo-pass-2026")
    instance = scenario.record_edit("inv1", township_1[0], {"address": "x"}, investigators=team)
    set_assessment(instance, assessment(county_review=True))
    township = console.as_user("sup1t")
    page = township.text(f"/console/submissions/{instance}")
    assert "只有县级账户可以通过" in page
    township.post(f"/console/submissions/{instance}/review", {"state": "approved"})
    assert submission(instance).review_state == "received"
    console.as_user("sup1").post(f"/console/submissions/{instance}/review", {"state": "approved"})
    assert submission(instance).review_state == "approved"


def test_submission_page_shows_answers_record_checks_and_photo_evidence(
    console, scenario, township_1, team
):
    """Answers beside the record before/after, failed checks with reasons, the gallery with
    capture time, GPS and distance, and a warning when a photo was used for another household."""
    household, other = township_1[0], township_1[1]
    shared = scenario.photo("housing_interior", near=household)
    scenario.record_edit("inv1", other, {"address": "别处"}, investigators=team, photos=[shared])
    instance = scenario.record_edit(
        "inv1", household, {"address": "新地址9号"}, investigators=team,
        photos=[scenario.photo("housing_exterior", near=household), shared],
    )
    set_assessment(instance, assessment(failed=1, reason="照片时间不在入户时段"))
    page = console.as_user("sup1").text(f"/console/submissions/{instance}")
    assert "新地址9号" in page and household.address in page  # after and before
    assert "照片时间不在入户时段0" in page
    assert "住房外观" in page and "室内" in page
    assert "2026-05-02 09:15" in page
    assert re.search(r"距住所 \d+ 米", page)
    assert f"同一照片也出现在其他户：{other.code}" in page
    assert page.count("/api/v1/media/") >= 4
    assert db.session.scalar(select(AuditEntry).where(
        AuditEntry.action == "submission.read", AuditEntry.object_id == instance))


def test_conflict_is_resolved_with_the_submitted_value(console, scenario, township_1, demo):
    """Two teams edit the same field offline: pick the second; the record and history say so."""
    household = township_1[3]
    base = household.version
    scenario.record_edit("inv1", household, {"address": "甲地址"}, base_version=base)
    second = scenario.record_edit("inv2", household, {"address": "乙地址"}, base_version=base,
                                  investigators=[demo.user("inv2").id],
                                  photos=[scenario.photo(near=household)])
    conflict = db.session.scalar(select(Conflict).where(Conflict.status == "open"))
    client = console.as_user("sup1")
    page = client.text("/console/conflicts")
    assert "甲地址" in page and "乙地址" in page and household.code in page
    db.session.expire_all()
    client.post(f"/console/conflicts/{conflict.id}/resolve",
                {"choice": "submitted", "seen_version": household.version, "comment": "核实"})
    db.session.expire_all()
    assert conflict.status == "resolved" and conflict.resolution_value == "乙地址"
    assert household.address == "乙地址"
    assert "没有待处理的冲突" in client.text("/console/conflicts")
    history = client.text(f"/console/households/{household.id}")
    assert "冲突处理" in history
    assert submission(second).review_state == "received"


def phone_conflict(scenario, household, demo) -> Conflict:
    """Two teams change the household's phone offline from one base: the open conflict."""
    base = household.version
    scenario.record_edit("inv1", household, {"phone": "13900000001"}, base_version=base)
    scenario.record_edit("inv2", household, {"phone": "13900000002"}, base_version=base,
                         investigators=[demo.user("inv2").id])
    conflict = db.session.scalar(select(Conflict).where(Conflict.status == "open"))
    db.session.expire_all()
    return conflict


def test_conflict_resolved_with_another_value(console, scenario, township_1, demo):
    """Neither side is right: the supervisor types the value."""
    household = township_1[4]
    conflict = phone_conflict(scenario, household, demo)
    console.as_user("sup1").post(
        f"/console/conflicts/{conflict.id}/resolve",
        {"choice": "", "value": "13900000003", "seen_version": household.version},
    )
    db.session.expire_all()
    assert household.phone == "13900000003"
    assert conflict.resolution_value == "13900000003"


def test_use_this_value_with_nothing_typed_is_refused(console, scenario, township_1, demo):
    """Enter in the note submits the form's first button, "use this value": with nothing
    typed it is refused, in the page's language, and the field keeps its value."""
    household = township_1[4]
    conflict = phone_conflict(scenario, household, demo)
    client = console.as_user("sup1")
    for typed in ("", "   "):
        client.post(f"/console/conflicts/{conflict.id}/resolve",
                    {"choice": "", "value": typed, "comment": "已电话核实",
                     "seen_version": household.version})
        db.session.expire_all()
        assert conflict.status == "open" and household.phone == "13900000001"
        page = client.text("/console/conflicts")
        assert "请填写要采用的值，或选择一方的值" in page and "type the value to use" not in page
    client.post("/console/language", {"lang": "en"})
    client.post(f"/console/conflicts/{conflict.id}/resolve",
                {"choice": "", "seen_version": household.version})
    page = client.text("/console/conflicts")
    assert "type the value to use, or take one side&#39;s value" in page
    assert "请填写要采用的值" not in page


def test_stale_conflict_decision_is_refused(console, scenario, township_1, demo):
    """A decision made on an old view of the household is refused with a message."""
    household = township_1[5]
    base = household.version
    scenario.record_edit("inv1", household, {"address": "甲"}, base_version=base)
    scenario.record_edit("inv2", household, {"address": "乙"}, base_version=base,
                         investigators=[demo.user("inv2").id])
    conflict = db.session.scalar(select(Conflict).where(Conflict.status == "open"))
    db.session.expire_all()
    seen = household.version
    scenario.record_edit("inv1", household, {"address": "丙"})
    client = console.as_user("sup1")
    client.post(f"/console/conflicts/{conflict.id}/resolve",
                {"choice": "submitted", "seen_version": seen})
    db.session.expire_all()
    assert conflict.status == "open"
    page = client.text("/console/conflicts")
    assert "此字段已被修改" in page
    assert f"the household is at {household.version}" in page  # the refusal's details too
