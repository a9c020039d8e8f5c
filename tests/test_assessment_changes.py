"""A merge hands the assessment the submission's bound changes (worked out when it was
received) instead of binding the answers again: only with the submission's own form
version, and the result is the assessment worked out from scratch."""

import copy

from server.domain import assessment
from server.domain.binding import bound_changes
from server.domain.record import empty_record
from server.extensions import db
from server.models import Submission
from server.services import forms, sync
from server.services.household_record import to_record
from tests.conftest import TOWNSHIP_1
from tests.forms_helpers import SURVEY, answers
from tests.sync_helpers import survey

FORM = {"form_id": "dibao_household_survey", "form_version": "2026.1"}


def test_given_changes_are_the_ones_laid_over_the_record(app):
    """Given changes are the answers' bound changes: the same assessment; other changes
    give the assessment of the answers they were bound from."""
    from datetime import date

    context = assessment.AssessmentContext(visit_date=date(2026, 5, 22))
    given = answers()
    other = copy.deepcopy(given)
    other["members"][0]["member_name"] = "王另一"
    other["incomes"][0]["income_amount"] += 5000
    worked_out = assessment.assess(SURVEY, given, None, None, context)
    assert assessment.assess(SURVEY, given, None, None, context,
                             bound_changes(SURVEY, given)) == worked_out
    assert assessment.record_after(SURVEY, given, None, bound_changes(SURVEY, other)) \
        == assessment.record_after(SURVEY, other, None)


def test_the_stored_assessment_is_the_one_worked_out_from_scratch(api, demo):
    """A survey and a re-visit chained to it, merged through the API: each stored
    assessment equals forms.assess with the answers bound again, on the record it saw."""
    target = next(h for h in demo.households_in(TOWNSHIP_1) if len(h.members) >= 2)
    team = [demo.user("inv1").id, demo.user("inv2").id]
    facts = forms.HouseholdFacts.of(target)
    seen = to_record(target)
    first = survey(target, answers(), investigators=team, **FORM)
    response = api.as_user("inv1").post("/api/v1/submissions", json=first)
    assert response.status_code == 201, response.get_json()
    revisit = answers()
    revisit["incomes"][0]["income_amount"] += 900
    second = survey(target, revisit, investigators=team, base_version=target.version,
                    previous_instance_id=first["instance_id"], **FORM)
    response = api.as_user("inv1").post("/api/v1/submissions", json=second)
    assert response.status_code == 201, response.get_json()
    db.session.expire_all()
    stored = {s.instance_id: s for s in db.session.query(Submission)}
    form = forms.get_form(**{"form_id": FORM["form_id"], "version": FORM["form_version"]})
    ours = stored[first["instance_id"]]
    assert ours.assessment == forms.assess(form, ours.answers, seen, facts, ours)
    chained = stored[second["instance_id"]]
    base = assessment.record_after(form, ours.answers, seen)
    assert chained.assessment == forms.assess(form, chained.answers, base, facts, chained)
    assert chained.assessment != ours.assessment  # the income differs


def test_changes_are_taken_only_with_the_submissions_own_form(app, demo):
    """sync._assess takes the stored changes only when assessing with the form version
    they were bound by: with another definition the answers are bound again."""
    target = demo.households_in(TOWNSHIP_1)[0]
    facts = forms.HouseholdFacts.of(target)
    record = to_record(target)
    given = answers()
    form = forms.get_form(FORM["form_id"], FORM["form_version"])
    submission = Submission(instance_id="x", answers=given, investigator_ids=[1, 2],
                            form_id=FORM["form_id"], form_version=FORM["form_version"],
                            changes=bound_changes(form, given))
    assert sync._assess(form, submission, facts, record) == forms.assess(
        form, given, record, facts, submission)
    # Changes that are not this definition's binding: another definition binds again ...
    submission.changes = empty_record()
    for other in ({}, {**form, "version": "2026.0"}):
        assert sync._assess(other, submission, facts, record) == forms.assess(
            other, given, record, facts, submission)
    # ... while with its own form version what was stored is what is laid over.
    assert sync._assess(form, submission, facts, record) != forms.assess(
        form, given, record, facts, submission)
