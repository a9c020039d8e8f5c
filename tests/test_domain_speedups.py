"""The shortcuts the merge path takes must give exactly what the plain code gives."""

import copy
from datetime import date

from server.domain import forms
from server.domain.record import copy_json
from tests.forms_helpers import SURVEY, answers
from tests.test_answer_checks_plan import plain_validate


def test_copy_json_is_deep_and_equal():
    record = {"household": {"address": "一村3号", "lat": 48.1, "flags": ["a", {"b": [1]}]},
              "members": {"m1": {"name": "张三", "co_resident": True, "died_on": None}}}
    copied = copy_json(record)
    assert copied == record
    copied["household"]["flags"][1]["b"].append(2)
    copied["members"]["m1"]["name"] = "李四"
    assert record["household"]["flags"] == ["a", {"b": [1]}]
    assert record["members"]["m1"]["name"] == "张三"


def test_copy_json_hands_other_values_to_deepcopy():
    value = {"on": date(2026, 5, 1), "pair": (1, [2])}
    copied = copy_json(value)
    assert copied == value
    assert copied["pair"][1] is not value["pair"][1]


def test_places_is_the_walk_remembered_per_definition():
    form = copy.deepcopy(SURVEY)
    first = forms.places(form)
    assert [p.path for p in first] == [p.path for p in forms.walk(form)]
    assert forms.places(form) is first
    # Another definition object (an edited copy) is walked afresh.
    edited = copy.deepcopy(form)
    edited["sections"].pop()
    assert len(forms.places(edited)) < len(first)
    assert forms.places(form) is first


def test_answers_are_checked_the_same_with_the_remembered_walk(monkeypatch):
    form = copy.deepcopy(SURVEY)
    good, bad = answers(), answers()
    bad["members"][0]["bogus"] = 1
    bad["nonsense"] = True
    assert forms.validate_answers(form, good) == {}
    errors = forms.validate_answers(form, bad)
    assert "nonsense" in errors and "members[0].bogus" in errors
    # Twice, so the second run goes through the cached walk and children.
    assert forms.validate_answers(form, bad) == errors
    # And the same as with nothing remembered at all (the plain walk every time).
    monkeypatch.setattr(forms, "_remembered", lambda definition, compute: compute())
    assert forms.validate_answers(copy.deepcopy(SURVEY), bad) == errors
    assert forms.validate_answers(copy.deepcopy(SURVEY), good) == {}



def test_a_group_rule_is_remembered_per_repeat_item_not_across_items():
    # The disability grade sits in a group inside the members repeat whose rule reads the
    # item: one pass over the answers remembers the rule's truth per member (the head is
    # healthy, the wife disabled, the son healthy), never one member's for the next.
    form = copy.deepcopy(SURVEY)
    members = form["sections"][1]["children"][0]
    grade = members["children"][6]
    members["children"][6] = {"name": "disability", "type": "group",
                              "relevant": grade.pop("relevant"),
                              "label": {"zh": "残疾", "en": "Disability"}, "children": [grade]}
    assert forms.validate_answers(form, answers()) == {}
    bad = answers()
    bad["members"][0]["disability_grade"] = "1"  # healthy: must be empty
    del bad["members"][1]["disability_grade"]  # disabled: required
    expected = {
        "members[0].disability_grade": ["此问题不适用,应为空 / not relevant here: must be empty"],
        "members[1].disability_grade": [forms.REQUIRED],
    }
    assert forms.validate_answers(form, bad) == expected
    # The same as with every rule asked afresh.
    assert plain_validate(form, bad) == expected
