"""A death list reaches the survey's checks: a member it names fails the deceased check."""

from server.services import forms
from tests.audit_helpers import covered, living_member
from tests.conftest import TOWNSHIP_1
from tests.forms_helpers import answers
from tests.test_crosscheck import death_list, import_deaths


def test_a_member_on_a_death_list_fails_the_deceased_check(api, demo):
    """The assessment context names the reported death and the check fails with the name."""
    household = covered(demo.households_in(TOWNSHIP_1))[0]
    member = living_member(household)
    form = forms.get_form("dibao_household_survey")
    survey = answers()
    survey["members"][0]["member_id_number"] = member.id_number
    facts = forms.HouseholdFacts.of(household)
    assert member.id_number not in forms.context_for(form, survey, facts).deceased_id_numbers

    assert import_deaths(api, death_list(member)).status_code == 201
    context = forms.context_for(form, survey, facts)
    assert context.deceased_id_numbers == {member.id_number}
    checks = {c["id"]: c for c in forms.assess(form, survey, {}, facts)["checks"]}
    assert checks["deceased_member"]["passed"] is False
