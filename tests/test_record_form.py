"""The built-in record form (ruhu.record): every question is labelled in both languages,
so an edit sent through it reads on the console like a survey's answers."""

import re

import pytest

from server.console.messages import MESSAGES
from server.domain.record import COLLECTION_FIELDS, HOUSEHOLD_FIELDS
from server.domain.record_form import record_form
from tests.conftest import TOWNSHIP_1

pytest_plugins = ["tests.console_helpers"]


def questions(children: list) -> list[dict]:
    """Return every question and repeat of a form's tree."""
    found = []
    for question in children:
        found.append(question)
        found.extend(questions(question.get("children", [])))
    return found


def test_every_question_has_a_label_in_both_languages():
    """Each question, repeat and the section: a Chinese and an English label, the ones the
    console gives the same field or section elsewhere (field.<name>, section.<name>)."""
    form = record_form()
    (section,) = form["sections"]
    assert section["label"] == {"zh": "户档案修改", "en": "Record edit"}
    every = questions(section["children"])
    names = {q["name"] for q in every}
    assert names == ({*HOUSEHOLD_FIELDS} - {"code"} | set(COLLECTION_FIELDS)
                     | {f for fields in COLLECTION_FIELDS.values() for f in fields})
    for question in every:
        label = question["label"]
        assert set(label) == {"zh", "en"} and all(label.values()), question["name"]
        key = ("section." if question["type"] == "repeat" else "field.") + question["name"]
        assert (label["zh"], label["en"]) == MESSAGES[key]
    assert not any(re.search(r"[\u4e00-\u9fff]", q["label"]["en"]) for q in every)
    assert all(re.search(r"[\u4e00-\u9fff]", q["label"]["zh"]) or q["name"] in ("lat", "lon")
               for q in every)


@pytest.mark.parametrize(("language", "shown"), [
    ("zh", ["户档案修改", "住址", "家庭成员", "就业/就学"]),
    ("en", ["Record edit", "Address", "Members", "Work or school"]),
])
def test_an_edit_through_the_record_form_shows_its_questions_by_name(console, scenario, demo,
                                                                     language, shown):
    """The submission page's answers of a record edit name the fields in the page's
    language, not their keys (address, members, occupation)."""
    household = demo.households_in(TOWNSHIP_1)[0]
    member = household.members[0]
    instance = scenario.record_edit("inv1", household, {
        "address": "新地址9号", "members": [{"id": member.id, "occupation": "务农"}]})
    client = console.as_user("sup1")
    if language == "en":
        client.post("/console/language", {"lang": "en"})
    page = client.text(f"/console/submissions/{instance}")
    start = page.index('<dl class="answers">')
    answers = page[start:page.index("</section>", start)]
    labels = re.findall(r"<dt[^>]*>([^<]*)</dt>", answers)
    assert labels == shown
    assert "新地址9号" in answers and "务农" in answers
