"""What the assessment reads of a form definition is worked out once per definition object
(domain/assessment.plan_of): it must answer for that very definition, never another's."""

import copy

from server.domain import assessment, forms
from server.domain.assessment import member_id_numbers, photo_hashes, plan_of
from tests.forms_helpers import SURVEY, answers


def walked_plan(form: dict) -> tuple:
    """The plan's contents worked out from a fresh walk of the definition."""
    located = list(forms.walk(form))
    return (
        [(p.path, p.repeat and p.repeat["name"]) for p in located
         if p.question.get("type") in ("photo", "signature")],
        [p.question["name"] for p in located
         if p.question.get("type") == "photo" and p.repeat is None],
        [(p.repeat["name"], p.question["name"]) for p in located
         if p.repeat is not None and p.repeat.get("bind") == "members"
         and p.question.get("bind") == "id_number"],
    )


def plan_contents(form: dict) -> tuple:
    """The remembered plan of a definition, in walked_plan's shape."""
    plan = plan_of(form)
    return (
        [(place.path, repeat and repeat.question["name"]) for place, repeat in plan.media],
        list(plan.photo_names),
        list(plan.member_id_numbers),
    )


def test_the_plan_of_the_survey_is_its_walk():
    """The survey's plan holds its photo and signature questions, its top-level photo
    questions and its members' ID number question, as a walk finds them."""
    assert plan_contents(SURVEY) == walked_plan(SURVEY)
    assert plan_of(SURVEY) is plan_of(SURVEY)
    assert plan_contents(SURVEY)[2] == [("members", "member_id_number")]


def renamed(form: dict, old: str, new: str) -> dict:
    """A copy of a definition with one question renamed."""
    changed = copy.deepcopy(form)
    for place in forms.walk(changed):
        if place.question.get("name") == old:
            place.question["name"] = new
    return changed


def test_each_definition_gets_its_own_plan_however_many_come_and_go():
    """Definitions made and dropped one after another (ids may be reused once one is gone,
    and more than the cache holds) each get the plan of their own questions."""
    given = answers()
    exterior = given["photo_housing_exterior"]
    numbers = member_id_numbers(SURVEY, given)
    assert numbers and photo_hashes(SURVEY, given)[0] == exterior[0]["sha256"]
    for n in range(3 * forms.CACHED_DEFINITIONS):
        form = renamed(renamed(SURVEY, "photo_housing_exterior", f"photo_{n}"),
                       "member_id_number", f"id_{n}")
        assert plan_contents(form) == walked_plan(form)
        moved = {**given, f"photo_{n}": exterior,
                 "members": [{**m, f"id_{n}": m.get("member_id_number")} for m in given["members"]]}
        # The renamed question is read; the old name is not a question of this definition.
        assert photo_hashes(form, moved) == photo_hashes(SURVEY, given)
        assert photo_hashes(form, given) == photo_hashes(SURVEY, given)[len(exterior):]
        assert member_id_numbers(form, moved) == numbers
        assert member_id_numbers(form, given) == [None] * len(given["members"])
        del form
    assert len(assessment._PLANS) <= forms.CACHED_DEFINITIONS
    assert plan_contents(SURVEY) == walked_plan(SURVEY)


def test_a_changed_definition_changes_the_media_checks():
    """A definition where a required photo question is a note instead asks no such photo:
    its own plan, not the survey's, decides the photo set check."""
    given = answers()
    given["photo_documents"] = []
    survey_check = next(c for c in assessment.assess(SURVEY, given, None, None,
                                                      _context())["checks"]
                        if c["id"] == "photo_set")
    assert survey_check["passed"] is False
    changed = copy.deepcopy(SURVEY)
    for place in forms.walk(changed):
        if place.question.get("name") == "photo_documents":
            place.question["type"] = "note"
    changed_check = next(c for c in assessment.assess(changed, given, None, None,
                                                       _context())["checks"]
                         if c["id"] == "photo_set")
    assert changed_check["passed"] is True


def _context() -> assessment.AssessmentContext:
    """A context of the visit day of tests.forms_helpers.answers."""
    from datetime import date

    return assessment.AssessmentContext(visit_date=date(2026, 5, 22))
