"""Problems found by a survey's automatic checks become ledger entries."""

import uuid
from datetime import datetime

import pytest
from sqlalchemy import func, select

from server.domain.audit_categories import category_of_check
from server.extensions import db
from server.models import LedgerEntry, Submission
from server.services import ledger

from .audit_helpers import covered, merged_survey, township_supervisor
from .conftest import TOWNSHIP_1, TOWNSHIP_2

KESHAN = "克山政办发〔2022〕12号"
CHECKS = [
    {"id": "two_investigators", "passed": True, "rule": "", "reason": {"zh": "", "en": ""}},
    {"id": "signatures", "passed": False, "rule": "", "reason": {"zh": "缺签名", "en": "unsigned"}},
    {
        "id": "deceased_member",
        "passed": False,
        "rule": "三清",
        "reason": {"zh": "王某已报死亡,仍计入保障人口", "en": "reported deceased but counted"},
    },
    {
        "id": "disqualifier.dq_budget_paid_member",
        "passed": False,
        "rule": f"{KESHAN} 二(二)五",
        "reason": {"zh": "家庭成员由财政统发工资", "en": "a member is paid by the budget"},
    },
]


@pytest.mark.parametrize(
    "check,expected",
    [
        (CHECKS[0], None),
        (CHECKS[1], None),  # survey quality, not an audit problem
        (CHECKS[2], ("deceased_receiving", ("reduce", "recover"))),
        (CHECKS[3], ("public_payroll", ("stop",))),
        (
            {"id": "disqualifier.dq_land_of_others", "passed": False, "rule": f"{KESHAN} 二(二)三"},
            ("hidden_land_income", ("stop",)),
        ),
        ({"id": "disqualifier.gambling", "passed": False, "rule": "新密民字〔2015〕20号"}, None),
        ({"id": "conclusion", "passed": False, "rule": ""}, ("miscalculation", ("resurvey",))),
    ],
)
def test_failed_checks_map_to_keshans_categories(check, expected):
    """Keshan's disqualifier rules cite the plan's item: 二(二)五 is category 5."""
    assert category_of_check(check) == expected


def surveyed(household, user) -> Submission:
    """Store a merged survey of the household whose assessment failed CHECKS."""
    return merged_survey(household, user, completed_at=datetime(2026, 5, 2, 9, 40),
                         assessment={"eligible": False, "checks": CHECKS})


def test_a_supervisor_enters_a_failed_check_once(api, demo):
    """The deceased check becomes one entry, however often asked; quality checks do not."""
    household = covered(demo.households_in(TOWNSHIP_1))[0]
    submission = surveyed(household, demo.user("inv1"))
    url = "/api/v1/audit/ledger/from-check"
    sup1 = api.as_user("sup1")
    body = {"instance_id": submission.instance_id, "check_id": "deceased_member"}
    first = sup1.post(url, json=body)
    assert first.status_code == 201, first.get_json()
    entry = first.get_json()
    assert (entry["category"], entry["source"], entry["actions"]) == (
        "deceased_receiving",
        "check",
        ["reduce", "recover"],
    )
    assert entry["source_ref"] == f"check:{submission.instance_id}:deceased_member"
    assert "已报死亡" in entry["description"]
    assert sup1.post(url, json=body).get_json()["id"] == entry["id"]
    refused = sup1.post(url, json={**body, "check_id": "signatures"})
    assert refused.status_code == 409 and refused.get_json()["code"] == "ledger.not_a_problem"
    assert sup1.post(url, json={**body, "check_id": "nope"}).status_code == 404
    assert sup1.post(url, json={**body, "instance_id": str(uuid.uuid4())}).status_code == 404
    assert sup1.post(url, json={"check_id": "deceased_member"}).status_code == 422
    # Only the first request opened an entry.
    assert db.session.scalar(select(func.count()).select_from(LedgerEntry)) == 1
    township_supervisor("sup2", TOWNSHIP_2, demo.password)
    assert api.as_user("sup2").post(url, json=body).status_code == 403


def test_the_sync_hook_opens_every_problem_of_a_covered_household(app, demo):
    """open_from_checks (for the merge) enters each problem check; applicants are skipped."""
    household = covered(demo.households_in(TOWNSHIP_1))[0]
    survey = surveyed(household, demo.user("inv1"))
    ids = ledger.open_from_checks(survey)
    db.session.commit()
    entries = [db.session.get(LedgerEntry, i) for i in ids]
    assert sorted(e.category for e in entries) == ["deceased_receiving", "public_payroll"]
    assert all(e.household_id == household.id and e.state == "open" for e in entries)
    assert {e.township.code for e in entries} == {TOWNSHIP_1}
    assert all(len(e.transitions) == 1 and e.transitions[0].to_state == "open" for e in entries)
    # Asked again for the same survey: the same entries, none opened twice.
    assert sorted(ledger.open_from_checks(survey)) == sorted(ids)
    assert db.session.scalar(select(func.count()).select_from(LedgerEntry)) == len(ids)
    applicant = next(h for h in demo.households_in(TOWNSHIP_1) if h.status == "applicant")
    assert ledger.open_from_checks(surveyed(applicant, demo.user("inv1"))) == []
