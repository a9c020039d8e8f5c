"""validate_answers works from checks worked out once per definition (forms._form_plan):
it must give exactly what the plain checking gives, question by question, for any answers,
and a remembered plan must never be another definition's."""

import copy
import random
from datetime import date
from typing import Any

import pytest

from server.domain import forms, logic
from tests.forms_helpers import SURVEY, answers, photo, sha, signature

LATEST = date(2026, 5, 22)


# ---- the plain checking (validate_answers before its checks were planned) -------------------


def plain_validate(form: dict, answers: Any, latest_visit: date | None = None) -> dict:
    """Check answers the plain way: walk the form, ask every rule, build every set."""
    if not isinstance(answers, dict):
        return {"answers": ["应为对象 / must be an object"]}
    errors: dict[str, list[str]] = {}
    top = [p for p in forms.walk(form)
           if p.repeat is None and p.question.get("type") not in forms.NO_ANSWER]
    names = {p.question["name"] for p in top}
    for name in answers:
        if name not in names:
            errors.setdefault(name, []).append("表单中没有此问题 / not a question of this form")
    for place in top:
        _plain_answer(place, answers, answers, place.question["name"], errors)
    visit = answers.get(forms.VISIT_DATE)
    dated = any(p.question["name"] == forms.VISIT_DATE and p.question["type"] == "date"
                for p in top)
    if (latest_visit is not None and dated and forms.VISIT_DATE not in errors
            and forms._is_date(visit) and date.fromisoformat(visit) > latest_visit):
        errors[forms.VISIT_DATE] = [
            f"调查日期{visit}晚于今天 / the visit date {visit} is after today"]
    return errors


def _truth(rule: Any, data: dict) -> bool:
    return logic.truthy(logic.evaluate(rule, data))


def _plain_answer(place, answers, data, path, errors, item=None) -> None:
    question = place.question
    name, kind = question["name"], question["type"]
    value = (item if item is not None else answers).get(name)
    try:
        rules = place.conditions + ((question["relevant"],) if "relevant" in question else ())
        relevant = all(_truth(rule, data) for rule in rules)
        required = question.get("required", False)
        required = _truth(required, data) if isinstance(required, dict) else bool(required)
    except logic.LogicError as exc:
        errors.setdefault(path, []).append(f"规则无法计算 / rule failed: {exc}")
        return
    if not relevant:
        if not forms.is_empty(value):
            errors.setdefault(path, []).append(
                "此问题不适用,应为空 / not relevant here: must be empty")
        return
    if kind == "repeat":
        _plain_repeat(place, answers, value, path, errors, required)
        return
    if forms.is_empty(value):
        if required:
            errors.setdefault(path, []).append(forms.REQUIRED)
        return
    problem = _plain_type_problem(question, value, answers)
    if problem:
        errors.setdefault(path, []).append(problem)
        return
    if "constraint" in question:
        try:
            ok = _truth(question["constraint"], data)
        except logic.LogicError as exc:
            errors.setdefault(path, []).append(f"规则无法计算 / rule failed: {exc}")
            return
        if not ok:
            message = question["constraint_message"]
            errors.setdefault(path, []).append(f"{message['zh']} / {message['en']}")


def _plain_repeat(place, answers, items, path, errors, required) -> None:
    if not isinstance(items, list):
        errors.setdefault(path, []).append("应为列表 / must be a list of items")
        return
    children = [p for p in forms._visit(place.question.get("children"),
                                        f"{place.path}.children", place.question, ())
                if p.question.get("type") not in forms.NO_ANSWER]
    child_names = {p.question["name"] for p in children}
    seen: set = set()
    kept = 0
    for index, item in enumerate(items):
        here = f"{path}[{index}]"
        if not isinstance(item, dict):
            errors.setdefault(here, []).append("应为对象 / must be an object")
            continue
        item_id = item.get("id")
        if not isinstance(item_id, str) or not item_id:
            errors.setdefault(f"{here}.id", []).append("每项需要 id / each item needs an id")
        elif item_id in seen:
            errors.setdefault(f"{here}.id", []).append("id 重复 / duplicate item id")
        seen.add(item_id)
        if "_removed" in item and not isinstance(item["_removed"], bool):
            errors.setdefault(f"{here}._removed", []).append("应为是/否 / must be true or false")
        for key in item:
            if key not in child_names and key not in forms.ITEM_KEYS:
                errors.setdefault(f"{here}.{key}", []).append(
                    "表单中没有此问题 / not a question of this form")
        if item.get("_removed") is True:
            continue
        kept += 1
        data = {**answers, "item": item}
        for child in children:
            _plain_answer(child, answers, data, f"{here}.{child.question['name']}", errors,
                          item=item)
    if required and kept == 0:
        errors.setdefault(path, []).append(forms.REQUIRED)


def _plain_type_problem(question: dict, value: Any, answers: dict) -> str | None:
    kind = question["type"]
    if kind == "text":
        return None if isinstance(value, str) else "应为文字 / must be text"
    if kind == "integer":
        ok = forms._is_number(value) and float(value).is_integer()
        return None if ok else "应为整数 / must be a whole number"
    if kind == "decimal":
        return None if forms._is_number(value) else "应为数字 / must be a number"
    if kind == "money":
        if not forms._is_number(value):
            return "应为金额 / must be an amount"
        cents = value * 100
        return None if abs(cents - round(cents)) < 1e-6 else "最多两位小数 / at most 2 decimals"
    if kind == "date":
        return None if forms._is_date(value) else \
            "应为日期 YYYY-MM-DD / must be a date YYYY-MM-DD"
    if kind == "yes_no":
        return None if isinstance(value, bool) else "应为是或否 / must be yes or no"
    if kind in ("select_one", "select_multiple"):
        source = question.get("choices_from")
        if source:
            items = answers.get(source["repeat"])
            allowed = ({i.get("id") for i in items if isinstance(i, dict)
                        and not i.get("_removed")} if isinstance(items, list) else set())
        else:
            allowed = {c["value"] for c in question.get("choices", [])}
        if kind == "select_one":
            if not isinstance(value, str) or value not in allowed:
                return f"不是可选项 / not one of the choices: {value!r}"
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return "应为选项列表 / must be a list of choices"
        if len(set(value)) != len(value):
            return "选项重复 / a choice is repeated"
        unknown = [v for v in value if v not in allowed]
        return f"不是可选项 / not among the choices: {', '.join(unknown)}" if unknown else None
    if kind == "geopoint":
        return forms._geopoint_problem(value)
    if kind == "photo":
        return forms._photo_problem(question, value)
    if kind == "signature":
        return forms._signature_problem(question, value)
    return None


# ---- answers to try --------------------------------------------------------------------------

ODD_VALUES = [None, "", [], 0, 1, 2.5, -3, 1e30, float("nan"), True, False, "text", "2026-05-23",
              "2026-13-01", "none", "A", "1", ["none"], ["tv", "tv"], ["tv", "none"], ["zzz"],
              [1], {}, {"lat": 48, "lon": 125}, {"lat": 99, "lon": 0},
              [photo(7, "appliances")], [photo(8, "wrong")], [{"sha256": "x"}],
              signature(9, "household", "王"), signature(9, "investigator", " "),
              [{"id": "x"}], [{"id": "x"}, {"id": "x"}], [{"id": "", "_removed": "yes"}],
              [{"id": "y", "_removed": True}], [{"id": "z", "bogus": 1}], ["item"], "m-head",
              "m-gone", 100.001, 1500, 1501]


def _variants(rng: random.Random) -> list[dict]:
    """The shipped survey's complete answers, and many ways of getting them wrong."""
    base = answers()
    found = [base, {}, {"nonsense": 1, **base}]
    names = [p.question["name"] for p in forms.walk(SURVEY)
             if p.question.get("type") not in forms.NO_ANSWER]
    for name in names:
        for value in ODD_VALUES:
            changed = copy.deepcopy(base)
            if name in changed or rng.random() < 0.5:
                changed[name] = copy.deepcopy(value)
            else:  # a question inside a repeat: change it in one item
                for key in ("members", "incomes", "assets", "neighbours"):
                    if changed.get(key) and rng.random() < 0.5:
                        changed[key][rng.randrange(len(changed[key]))][name] = \
                            copy.deepcopy(value)
            found.append(changed)
    # Relevance switched on and off, alone and together, with or without its answers.
    switches = [("big_purchase", True), ("farming", True), ("migrant_work", True),
                ("side_business", True), ("application_type", "new"), ("area_type", "rural"),
                ("appliances", ["none"]), ("vehicles", ["car"])]
    for _ in range(300):
        changed = copy.deepcopy(base)
        for name, value in rng.sample(switches, rng.randint(1, len(switches))):
            changed[name] = value
        for name in rng.sample(names, rng.randint(0, 6)):
            changed[name] = copy.deepcopy(rng.choice(ODD_VALUES))
        for member in changed["members"] if isinstance(changed["members"], list) else []:
            if not isinstance(member, dict):
                continue
            if rng.random() < 0.3:
                member["health"] = rng.choice(["disabled", "healthy", "ill"])
            if rng.random() < 0.2:
                member.pop("disability_grade", None)
            if rng.random() < 0.1:
                member["_removed"] = rng.choice([True, False, "no"])
        found.append(changed)
    return found


VARIANTS = _variants(random.Random(20261123))


def test_every_variant_is_checked_as_the_plain_way_checks_it():
    form = copy.deepcopy(SURVEY)
    differ, refused = [], 0
    for index, given in enumerate(VARIANTS):
        expected = plain_validate(form, given, LATEST)
        refused += bool(expected)
        if forms.validate_answers(form, given, LATEST) != expected:
            differ.append(index)
    assert differ == []
    # The variants reach most of the checks: these are not all the complete answers.
    assert refused > 1000


def test_failing_rules_fail_where_the_plain_way_fails_them():
    # A group rule that cannot be evaluated, the same text on a question, equal rules
    # asked twice in a context, and a constraint and a required rule that fail.
    form = copy.deepcopy(SURVEY)
    look = next(s for s in form["sections"] if s["name"] == "look")
    look["relevant"] = {"bogus_op": [1]}
    check = next(s for s in form["sections"] if s["name"] == "check")
    check["children"][1]["relevant"] = {"bogus_op": [1]}
    check["children"][2]["required"] = {"substr": [{"var": "nothing"}, {"bad": 1, "x": 2}]}
    members = form["sections"][1]["children"][0]
    members["children"][1]["constraint"] = {"bogus_op": [{"var": "item.member_name"}]}
    for given in VARIANTS[:200]:
        assert forms.validate_answers(form, given, LATEST) == plain_validate(form, given, LATEST)
    errors = forms.validate_answers(form, answers(), LATEST)
    assert any("rule failed" in m for messages in errors.values() for m in messages)


def test_equal_rule_texts_share_a_truth_but_literal_objects_are_kept_apart():
    # Equal rules share one remembered truth per context, but `==` tells two literal
    # objects apart by identity: two rules that print alike but hold one object twice (or
    # two objects) must not share it.
    form = copy.deepcopy(SURVEY)
    literal = {"a": 1, "b": 2}
    same = {"==": [literal, literal]}
    apart = {"==": [{"a": 1, "b": 2}, {"a": 1, "b": 2}]}
    check = next(s for s in form["sections"] if s["name"] == "check")
    check["children"][0]["relevant"] = same
    check["children"][1]["relevant"] = apart
    given = answers()
    expected = plain_validate(form, given, LATEST)
    assert forms.validate_answers(form, given, LATEST) == expected
    first, second = check["children"][0]["name"], check["children"][1]["name"]
    assert first not in expected  # relevant: answered as before
    assert second in expected  # not relevant: must be empty
    # And an int key is not its text: one fails as a bad operator, the other as unknown.
    check["children"][2]["relevant"] = {1: [True]}
    check["children"][3]["relevant"] = {"1": [True]}
    fresh = copy.deepcopy(form)
    assert forms.validate_answers(fresh, given, LATEST) == plain_validate(fresh, given, LATEST)


@pytest.mark.parametrize("change", ["choices", "required", "relevant", "constraint", "type"])
def test_a_plan_is_never_another_definitions(change):
    # Two definitions with the same id and version (or another version) that differ in one
    # question: each is checked by its own rules, in any order, again and again.
    first = copy.deepcopy(SURVEY)
    second = copy.deepcopy(SURVEY)
    second["version"] = "2026.9" if change in ("choices", "type") else first["version"]
    question = next(p.question for p in forms.walk(second)
                    if p.question.get("name") == "housing_condition")
    if change == "choices":
        question["choices"] = [c for c in question["choices"] if c["value"] != "fair"]
    elif change == "required":
        question["required"] = {"==": [{"var": "area_type"}, "rural"]}
    elif change == "relevant":
        question["relevant"] = {"==": [{"var": "area_type"}, "rural"]}
    elif change == "constraint":
        question["constraint"] = {"!=": [{"var": "housing_condition"}, "fair"]}
        question["constraint_message"] = {"zh": "不行", "en": "Not fair"}
    else:
        question["type"] = "text"
    member = next(p.question for p in forms.walk(second)
                  if p.question.get("name") == "relation")
    member["choices"] = [c for c in member["choices"] if c["value"] != "spouse"]
    given = answers()
    given["housing_condition"] = "fair"
    missing = answers()
    del missing["housing_condition"]
    for _ in range(3):
        for form in (first, second):
            for case in (given, missing):
                assert forms.validate_answers(form, case, LATEST) == \
                    plain_validate(form, case, LATEST)
    assert forms.validate_answers(first, given, LATEST) == {}
    assert forms.validate_answers(second, given, LATEST) != {}
    assert "members[1].relation" in forms.validate_answers(second, given, LATEST)


def test_plans_are_remembered_per_definition_object():
    form = copy.deepcopy(SURVEY)
    plan = forms._form_plan(form)
    assert forms._form_plan(form) is plan
    assert forms._form_plan(copy.deepcopy(form)) is not plan
    repeat = next(p for p in forms.places(form) if p.question.get("type") == "repeat")
    assert forms._item_plan(repeat) is forms._item_plan(repeat)
    # The walk and the plan are kept apart: one never answers for the other.
    assert forms.places(form) is not plan
    assert isinstance(forms.places(form), tuple)


def test_choices_of_another_repeat_are_read_from_these_answers():
    form = copy.deepcopy(SURVEY)
    given = answers()
    assert forms.validate_answers(form, given, LATEST) == {}
    given["members"][0]["_removed"] = True  # the wage earner's income now names no member
    errors = forms.validate_answers(form, given, LATEST)
    assert errors == plain_validate(form, given, LATEST)
    assert "incomes[0].income_member" in errors
    assert sha(1)  # (the helpers' fake hashes stay as they were)


def test_an_equal_rule_is_asked_once_per_context(monkeypatch):
    # The survey asks `big_purchase == true` for three questions: one evaluation per pass.
    form = copy.deepcopy(SURVEY)
    asked = []
    plain = forms._evaluate
    monkeypatch.setattr(forms, "_evaluate", lambda rule, data: asked.append(rule) or
                        plain(rule, data))
    assert forms.validate_answers(form, answers(), LATEST) == {}
    purchase = {"==": [{"var": "big_purchase"}, True]}
    assert asked.count(purchase) == 1
    assert sum(1 for p in forms.walk(form) if p.question.get("relevant") == purchase) == 3
