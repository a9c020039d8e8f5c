"""A survey of a covered household whose checks find an audit problem opens a ledger entry
as it is merged (整改台账: every problem found by an automatic check is an entry)."""

from sqlalchemy import select

from server.extensions import db
from server.models import LedgerEntry
from tests.audit_helpers import covered
from tests.conftest import TOWNSHIP_1
from tests.forms_helpers import answers
from tests.sync_helpers import survey


def _post(api, target, survey_answers, demo):
    """Post the shipped survey about `target` as inv1; return the outcome."""
    team = [demo.user("inv1").id, demo.user("inv2").id]
    body = survey(
        target,
        survey_answers,
        investigators=team,
        form_id="dibao_household_survey",
        form_version="2026.1",
    )
    response = api.as_user("inv1").post("/api/v1/submissions", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_a_deceased_member_still_counted_opens_a_ledger_entry(api, demo):
    """The deceased check fails on merge and the ledger holds the problem for the household."""
    target = covered(demo.households_in(TOWNSHIP_1))[0]
    with_death = answers()
    with_death["members"][2]["died_on"] = "2026-01-15"
    outcome = _post(api, target, with_death, demo)
    failed = {c["id"] for c in outcome["assessment"]["checks"] if not c["passed"]}
    assert "deceased_member" in failed
    entries = db.session.scalars(
        select(LedgerEntry).where(LedgerEntry.household_id == target.id)
    ).all()
    assert [(e.category, e.source) for e in entries] == [("deceased_receiving", "check")]


def test_a_clean_survey_opens_no_entry(api, demo):
    """Without an audit problem the ledger stays empty for the household."""
    target = covered(demo.households_in(TOWNSHIP_1))[0]
    _post(api, target, answers(), demo)
    entries = db.session.scalars(
        select(LedgerEntry).where(LedgerEntry.household_id == target.id)
    ).all()
    assert [e.category for e in entries if e.source == "check"] == []
