"""The shortcuts the merge path takes must give exactly what the plain code gives."""

import copy
from datetime import date

from server.domain import forms
from server.domain.record import copy_json
from tests.forms_helpers import SURVEY, answers


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
