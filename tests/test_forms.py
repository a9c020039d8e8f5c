"""Form definitions: the shipped survey is valid, broken definitions are rejected precisely,
and answers are checked field by field."""

import copy
from datetime import date, datetime

import pytest

from server.domain import forms
from tests.forms_helpers import SURVEY, answers, photo, signature

SOURCE = "forms/dibao_household_survey/2026.1.yaml"


def broken(change) -> list[str]:
    """Return the problems of the shipped survey after `change(form)` edits a copy."""
    form = copy.deepcopy(SURVEY)
    change(form)
    return forms.validate_definition(form, SOURCE)


def question(form: dict, name: str) -> dict:
    """Return a question of a form by name."""
    return next(p.question for p in forms.walk(form) if p.question.get("name") == name)


def test_shipped_survey_is_valid():
    """The survey in forms/ passes every definition check."""
    assert forms.validate_definition(SURVEY, SOURCE) == []


def test_shipped_survey_covers_the_four_methods_and_signatures():
    """Sections follow the 调查笔录: basics … 看问听查 … disqualifiers, 六不批, conclusion,
    signatures; two investigator signatures and the household's are required."""
    assert [s["name"] for s in SURVEY["sections"]] == [
        "basics", "family", "obligors", "earnings", "property", "outlays", "look", "ask",
        "listen", "check", "disqualifier_checklist", "six_no", "conclusion", "signatures"]
    signatures = forms.questions_of_type(SURVEY, "signature")
    required = [p.question["signature"]["role"] for p in signatures
                if p.question.get("required") is True]
    assert required == ["investigator", "investigator"]
    assert question(SURVEY, "sig_household")["required"] == {"!": {"var": "photo_thumbprint"}}
    dq = [p for p in forms.walk(SURVEY) if p.question.get("name", "").startswith("dq_")]
    assert len(dq) == 23  # Xinmi's 18 and five from Keshan's audit list


def test_unknown_operator_reported_with_file_and_path():
    """A misspelt operator is named with the file and the exact place in the definition."""
    def change(form):
        form["sections"][3]["children"][2]["relevant"] = {"foo": [1]}
    assert broken(change) == [f'{SOURCE}: sections[3].children[2].relevant: unknown operator "foo"']


@pytest.mark.parametrize(
    ("name", "change", "expected"),
    [
        ("unknown type",
         lambda f: question(f, "address").update(type="textarea"),
         'sections[0].children[4].type: unknown type "textarea"'),
        ("duplicate name",
         lambda f: question(f, "phone").update(name="address"),
         'sections[0].children[5].name: duplicate name "address" (first at '
         "sections[0].children[4])"),
        ("bad household field",
         lambda f: question(f, "address").update(bind="household.street"),
         'sections[0].children[4].bind: bad bind path "household.street"'),
        ("bad item field",
         lambda f: question(f, "occupation").update(bind="employment"),
         'sections[1].children[0].children[8].bind: bad bind path "employment": not a field '
         "of members"),
        ("bind inside an unbound repeat",
         lambda f: question(f, "spending_amount").update(bind="amount"),
         'bad bind path "amount": its repeat is not bound'),
        ("bound twice",
         lambda f: question(f, "phone").update(bind="household.address"),
         '"household.address" is already bound by sections[0].children[4]'),
        ("choices missing",
         lambda f: question(f, "sex").pop("choices"),
         "sections[1].children[0].children[3].choices: a select_one needs choices"),
        ("duplicate choice",
         lambda f: question(f, "sex")["choices"].append(
             {"value": "male", "label": {"zh": "男", "en": "Male"}}),
         'choices[2].value: duplicate choice "male"'),
        ("unknown variable",
         lambda f: question(f, "big_purchase_items").update(relevant={"var": "big_purchse"}),
         'relevant.var: unknown variable "big_purchse"'),
        ("item outside a repeat",
         lambda f: question(f, "housing_area").update(relevant={"var": "item.x"}),
         '"item" exists only inside a repeat'),
        ("unknown item field",
         lambda f: question(f, "birth_date").update(relevant={"var": "item.age"}),
         'unknown variable "item.age" (not a question of members)'),
        ("unknown field in reduce",
         lambda f: question(f, "member_count")["calculate"]["reduce"][0]["filter"][1]["and"]
         .append({"var": "alive"}),
         'unknown variable "alive"'),
        ("reduce initial is a rule",
         lambda f: question(f, "member_count")["calculate"]["reduce"].__setitem__(
             2, {"+": [0, 0]}),
         "the initial value of reduce must be a plain value"),
        ("constraint without message",
         lambda f: question(f, "housing_area").pop("constraint_message"),
         "constraint_message: a constraint needs a zh and en message"),
        ("unknown key",
         lambda f: question(f, "address").update(default="x"),
         "sections[0].children[4].default: unknown key"),
        ("version not quoted",
         lambda f: f.update(version=2026.1),
         'version: required: a quoted "YYYY.N" string'),
        ("label without English",
         lambda f: question(f, "address").update(label={"zh": "住址"}),
         "sections[0].children[4].label: needs zh and en text"),
        ("photo without category",
         lambda f: question(f, "photo_documents").update(photo={"min": 1}),
         "photo.category: required"),
        ("photo max below min",
         lambda f: question(f, "photo_documents").update(photo={"category": "documents",
                                                                 "min": 3, "max": 2}),
         "photo.max: must be a whole number ≥ min"),
        ("signature role",
         lambda f: question(f, "sig_household").update(signature={"role": "witness"}),
         "signature.role: one of investigator, household"),
        ("choices from an unknown repeat",
         lambda f: question(f, "income_member").update(
             choices_from={"repeat": "people", "label": "member_name"}),
         'choices_from.repeat: unknown repeat "people"'),
        ("nested repeat",
         lambda f: question(f, "members")["children"].append(
             {"name": "pets", "type": "repeat", "label": {"zh": "宠物", "en": "Pets"},
              "children": [{"name": "pet", "type": "text",
                            "label": {"zh": "名", "en": "Name"}}]}),
         "a repeat inside a repeat is not supported"),
        ("section not a group",
         lambda f: f["sections"][0].update(type="repeat"),
         "sections[0]: a section must be a group"),
        ("rule object with two operators",
         lambda f: question(f, "housing_area").update(relevant={"var": "x", "==": [1, 1]}),
         "a rule object needs exactly one operator"),
        ("required on a note",
         lambda f: question(f, "income_note").update(required=True),
         "required: not allowed on a note"),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_malformed_definitions_are_rejected_precisely(name, change, expected):
    """Each kind of mistake gives one message naming the file, the place and the problem."""
    problems = broken(change)
    assert problems, name
    assert all(p.startswith(f"{SOURCE}: ") for p in problems)
    assert any(expected in p for p in problems), problems


def test_check_definition_raises_with_every_problem():
    """check_definition raises FormError listing all problems at once."""
    form = copy.deepcopy(SURVEY)
    question(form, "address")["type"] = "textarea"
    question(form, "phone")["bind"] = "household.nope"
    with pytest.raises(forms.FormError) as caught:
        forms.check_definition(form, SOURCE)
    assert len(caught.value.errors) == 2


def test_content_hash_ignores_key_order_but_not_content():
    """Reordering keys keeps the hash; changing a label changes it."""
    shuffled = dict(reversed(list(copy.deepcopy(SURVEY).items())))
    assert forms.content_hash(shuffled) == forms.content_hash(SURVEY)
    changed = copy.deepcopy(SURVEY)
    question(changed, "address")["label"]["en"] = "Home address"
    assert forms.content_hash(changed) != forms.content_hash(SURVEY)


def test_version_key_orders_numerically():
    """2026.10 comes after 2026.9."""
    assert sorted(["2026.10", "2026.9", "2025.3"], key=forms.version_key) == [
        "2025.3", "2026.9", "2026.10"]


# ---- answers ----


def test_complete_answers_are_valid():
    """The helper's complete answers have no errors."""
    assert forms.validate_answers(SURVEY, answers()) == {}


def test_required_answer_missing():
    """A required question left empty is reported by name."""
    given = answers()
    del given["address"]
    given["respondent_name"] = ""
    errors = forms.validate_answers(SURVEY, given)
    assert errors == {"address": ["必填 / required"], "respondent_name": ["必填 / required"]}


def test_relevant_question_becomes_required():
    """big_purchase yes makes its items, amount and photos required."""
    given = answers()
    given["big_purchase"] = True
    errors = forms.validate_answers(SURVEY, given)
    assert set(errors) == {"big_purchase_items", "big_purchase_amount", "photo_big_purchase"}


def test_answer_to_irrelevant_question_is_refused():
    """An answer kept for a question that no longer applies must be cleared by the phone."""
    given = answers()
    given["big_purchase_items"] = "空调"
    assert forms.validate_answers(SURVEY, given) == {
        "big_purchase_items": ["此问题不适用,应为空 / not relevant here: must be empty"]}


def test_group_relevance_applies_to_children():
    """六不批 questions apply to new applications only, and are then required."""
    given = answers()
    given["six_split_household"] = False
    assert "six_split_household" in forms.validate_answers(SURVEY, given)
    given["application_type"] = "new"
    errors = forms.validate_answers(SURVEY, given)
    assert "six_split_household" not in errors
    assert errors["six_public_objection"] == ["必填 / required"]


def test_constraint_message_in_both_languages():
    """A failing constraint returns its message, zh / en."""
    given = answers()
    given["housing_area"] = 0
    assert forms.validate_answers(SURVEY, given) == {
        "housing_area": ["面积应大于0且小于2000平方米 / The area must be above 0 and below "
                         "2000 m²"]}


def test_constraint_inside_repeat_uses_item():
    """A member born after the visit breaks the item constraint, at members[2].birth_date."""
    given = answers()
    given["members"][2]["birth_date"] = "2027-01-01"
    errors = forms.validate_answers(SURVEY, given)
    assert list(errors) == ["members[2].birth_date"]


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("housing_area", "55", "应为数字 / must be a number"),
        ("housing_area", True, "应为数字 / must be a number"),
        ("applicant_stated_income", 12.345, "最多两位小数 / at most 2 decimals"),
        ("visit_date", "2026-02-30", "应为日期 YYYY-MM-DD / must be a date YYYY-MM-DD"),
        ("visit_date", "22/05/2026", "应为日期 YYYY-MM-DD / must be a date YYYY-MM-DD"),
        ("housing_type", "castle", "不是可选项 / not one of the choices: 'castle'"),
        ("appliances", ["tv", "tv"], "选项重复 / a choice is repeated"),
        ("appliances", ["tv", "jetski"], "不是可选项 / not among the choices: jetski"),
        ("appliances", "tv", "应为选项列表 / must be a list of choices"),
        ("big_purchase", "no", "应为是或否 / must be yes or no"),
        ("location", {"lat": 95, "lon": 1}, "经纬度超出范围 / latitude or longitude out of range"),
        ("location", [48, 125], "应为位置 {lat, lon} / must be a location {lat, lon}"),
        ("address", 12, "应为文字 / must be text"),
        ("photo_documents", [{"sha256": "abc"}], "每张照片需要 sha256 / each photo needs its sha256"),
        ("photo_documents", [photo(9, "housing_exterior")],
         "照片类别应为 documents / photo category must be documents"),
        ("photo_documents", [photo(9, "documents"), photo(9, "documents")],
         "同一照片重复 / the same photo twice"),
        ("photo_housing_exterior", [photo(i, "housing_exterior") for i in range(5)],
         "最多4张 / at most 4 photos"),
        ("sig_investigator_1", signature(1, "household", "王"),
         "签名角色应为 investigator / signature role must be investigator"),
        ("sig_investigator_1", {"sha256": "0" * 64, "role": "investigator"},
         "需要签名人姓名 / the signer's name is required"),
    ],
)
def test_type_errors(name, value, message):
    """A value of the wrong type or shape is refused with a readable message."""
    given = answers()
    given[name] = value
    assert forms.validate_answers(SURVEY, given) == {name: [message]}


def test_integer_accepts_whole_floats_only():
    """3.0 from JavaScript is a whole number; 2.5 is not."""
    given = answers()
    given["supporters"] = [{"id": "s1", "supporter_name": "王大", "supporter_relation": "child",
                            "supporter_household_size": 3.0, "supporter_monthly_income": 2500}]
    assert forms.validate_answers(SURVEY, given) == {}
    given["supporters"][0]["supporter_household_size"] = 2.5
    assert forms.validate_answers(SURVEY, given) == {
        "supporters[0].supporter_household_size": ["应为整数 / must be a whole number"]}


def test_repeat_items_need_unique_ids_and_known_keys():
    """Items need an id, ids are unique, and item keys are questions of the repeat."""
    given = answers()
    given["members"][1]["id"] = "m-head"
    del given["members"][2]["id"]
    given["members"][0]["nickname"] = "老王"
    errors = forms.validate_answers(SURVEY, given)
    assert errors["members[1].id"] == ["id 重复 / duplicate item id"]
    assert errors["members[2].id"] == ["每项需要 id / each item needs an id"]
    assert errors["members[0].nickname"] == ["表单中没有此问题 / not a question of this form"]


def test_required_child_in_repeat_and_required_repeat():
    """A member without a name is reported at its path; no members at all is reported too."""
    given = answers()
    del given["members"][1]["member_name"]
    assert forms.validate_answers(SURVEY, given) == {
        "members[1].member_name": ["必填 / required"]}
    given["members"] = [{"id": m["id"], "_removed": True} for m in given["members"]]
    given["incomes"] = []
    assert forms.validate_answers(SURVEY, given) == {"members": ["必填 / required"]}


def test_removed_items_are_not_validated():
    """A removed item needs only its id."""
    given = answers()
    given["members"].append({"id": "m-gone", "_removed": True})
    assert forms.validate_answers(SURVEY, given) == {}


def test_choices_from_a_repeat_accept_its_item_ids():
    """An income's member must be one of the (not removed) member items."""
    given = answers()
    given["incomes"][0]["income_member"] = "m-nobody"
    assert forms.validate_answers(SURVEY, given) == {
        "incomes[0].income_member": ["不是可选项 / not one of the choices: 'm-nobody'"]}


def test_required_rule_thumbprint_replaces_household_signature():
    """The household signature is required unless a thumbprint photo is given."""
    given = answers()
    del given["sig_household"]
    assert forms.validate_answers(SURVEY, given) == {"sig_household": ["必填 / required"]}
    given["photo_thumbprint"] = [photo(20, "thumbprint")]
    assert forms.validate_answers(SURVEY, given) == {}


def test_unknown_answer_names_are_refused():
    """An answer to a question the form does not have (e.g. another version's) is refused."""
    given = answers()
    given["favourite_colour"] = "red"
    assert forms.validate_answers(SURVEY, given) == {
        "favourite_colour": ["表单中没有此问题 / not a question of this form"]}


def test_answers_must_be_an_object():
    """A list instead of an answers object is one error."""
    assert forms.validate_answers(SURVEY, []) == {"answers": ["应为对象 / must be an object"]}


@pytest.mark.parametrize(
    ("now", "visit", "refused"),
    [
        # China's date is UTC's + 1 from 16:00 UTC: a phone there dates the visit tomorrow.
        ("2026-05-22T16:30:00+00:00", "2026-05-23", False),
        ("2026-05-22T23:59:00+00:00", "2026-05-23", False),
        # Before 10:00 UTC even UTC+14 is still on the 22nd; China (UTC+8) is too.
        ("2026-05-22T09:59:00+00:00", "2026-05-22", False),
        ("2026-05-22T09:59:00+00:00", "2026-05-23", True),
        # From 10:00 UTC (18:00 in China) a phone up to 6 hours fast is not refused.
        ("2026-05-22T10:00:00+00:00", "2026-05-23", False),
        ("2026-05-22T23:59:00+00:00", "2026-05-24", True),
        ("2026-05-22T12:00:00+08:00", "2027-01-01", True),
        ("2026-05-22T12:00:00+00:00", "2026-05-01", False),
    ],
)
def test_a_visit_dated_after_today_is_refused_with_a_day_of_slack(now, visit, refused):
    """The visit date may be today in any time zone (a phone in China is a day ahead of
    UTC for 8 hours a day), never later."""
    latest = forms.latest_visit_date(datetime.fromisoformat(now))
    errors = forms.validate_answers(SURVEY, {**answers(), "visit_date": visit}, latest)
    if refused:
        assert errors == {"visit_date": [
            f"调查日期{visit}晚于今天 / the visit date {visit} is after today"]}
    else:
        assert errors == {}


def test_a_malformed_visit_date_gets_one_message_not_two():
    """A visit date that is no date is reported as such, not also as 'after today'."""
    errors = forms.validate_answers(SURVEY, {**answers(), "visit_date": "2099-02-30"},
                                    date(2026, 5, 22))
    assert errors == {"visit_date": ["应为日期 YYYY-MM-DD / must be a date YYYY-MM-DD"]}


def test_without_a_latest_day_the_visit_date_is_not_compared():
    """Checking answers without a moment (a form editor's check) leaves the date alone."""
    assert forms.validate_answers(SURVEY, {**answers(), "visit_date": "2099-01-01"}) == {}
