"""A survey the server refuses does not stay stuck in the outbox: the investigator takes it
back, fixes it and finishes it again, with its photos."""

import time

import pytest
from sqlalchemy import func, select

from server.extensions import db
from server.models.submission import Submission, SubmissionMedia
from tests.forms_helpers import SURVEY

from .conftest import idb_outbox, sign_in
from .survey import fill_and_finish, make_it_refused, make_photos

pytestmark = pytest.mark.e2e


def finished_offline(page, context, tmp_path) -> str:
    """Sign in, fill and finish a survey without a connection; return its instance id
    (it waits in the outbox until the test goes online and syncs)."""
    sign_in(page)
    context.set_offline(True)
    page.locator("#household-list li a").first.click()
    page.click("#start-survey")
    return fill_and_finish(page, make_photos(tmp_path, 2))


def sync_until_it_needs_a_look(page, context, instance_id: str):
    """Go online, sync, and return the outbox card once it waits for a look."""
    context.set_offline(False)
    page.click("#sync-now")
    card = page.locator(f"#outbox li[data-instance='{instance_id}'][data-state=attention]")
    card.wait_for(timeout=30000)
    return card


def refusal_lines(card, expected: list[str], seconds: float = 10) -> list[str]:
    """Return the refusal's lines once they are the expected ones (in any order), or fail
    with what they are: the sync view draws the outbox again whenever it changes, so lines
    read right after the first one appeared may be from a card being replaced."""
    deadline = time.monotonic() + seconds
    while True:
        lines = card.locator(".refusal li").all_inner_texts()
        if sorted(lines) == sorted(expected) or time.monotonic() > deadline:
            assert sorted(lines) == sorted(expected), lines
            return lines
        time.sleep(0.1)


def test_a_refused_survey_is_fixed_and_finished_again(page, context, live_server, tmp_path):
    refused_id = finished_offline(page, context, tmp_path)
    make_it_refused(page, refused_id)
    card = sync_until_it_needs_a_look(page, context, refused_id)
    assert "no_such_question" in card.inner_text()
    # Tried again by hand without a connection, it keeps the server's refusal.
    context.set_offline(True)
    page.click("#sync-now")
    page.wait_for_selector("#sync-now:not([disabled])")
    assert "no_such_question" in card.inner_text()
    context.set_offline(False)

    card.locator("button[data-action=reopen]").click()
    page.wait_for_selector("#refused")
    assert "no_such_question" in page.locator("#refused").inner_text()
    draft_id = page.evaluate("location.hash.split('/').pop()")
    assert draft_id != refused_id
    assert idb_outbox(page) == []
    # Its photos and signatures moved with it; finishing drops the unknown answer.
    page.click("nav.sections button[data-section=review]")
    page.wait_for_selector("#finish")
    assert page.locator("#errors li").count() == 0
    page.click("#finish")
    page.wait_for_url("**/#/sync")
    page.wait_for_selector(f"#sent li[data-instance='{draft_id}']", timeout=30000)

    def stored():
        submission = db.session.scalar(
            select(Submission).where(Submission.instance_id == draft_id))
        photos = db.session.scalar(select(func.count()).select_from(SubmissionMedia).where(
            SubmissionMedia.submission_id == submission.id))
        refused = db.session.scalar(select(func.count()).select_from(Submission).where(
            Submission.instance_id == refused_id))
        return submission.status, "no_such_question" in submission.answers, photos, refused

    # The sent list can show the survey a moment before the server has filed its last
    # photo (seen once, under CI's load): wait for the server, a bounded while.
    deadline = time.monotonic() + 20
    while (found := live_server.query(stored))[0] != "complete" and time.monotonic() < deadline:
        time.sleep(0.2)
    status, unknown_kept, photos, refused = found
    assert (status, unknown_kept, refused) == ("complete", False, 0), found
    assert photos == 5


def test_a_survey_whose_photo_is_refused_is_not_offered_again(page, context, live_server,
                                                              tmp_path):
    """The server holds the survey and refuses one of its photos (its bytes do not match
    its hash): taking it back would send a second survey of the household, so it is not
    offered; it waits for a look with the server's message."""
    instance_id = finished_offline(page, context, tmp_path)
    page.evaluate(
        """async (id) => {
            const db = await import("/js/db.js");
            const [record] = await db.byIndex("media", "instance_id", id);
            record.blob = new Blob([new Uint8Array(record.blob.size)], {type: record.content_type});
            await db.put("media", record);
        }""",
        instance_id,
    )
    card = sync_until_it_needs_a_look(page, context, instance_id)
    assert card.locator("button[data-action=reopen]").count() == 0

    def stored():
        return db.session.scalar(select(func.count()).select_from(Submission).where(
            Submission.instance_id == instance_id))

    assert live_server.query(stored) == 1


def test_a_refusal_names_the_question_and_the_member_not_internal_paths(page, context,
                                                                      tmp_path):
    """The server's refusal of a member's ID number and of a visit dated after today (a
    phone whose clock ran ahead) is shown by the questions' labels and the member's name,
    with the server's message in the app's language, in the outbox and in the survey taken
    back; in English once the app speaks English."""
    refused_id = finished_offline(page, context, tmp_path)
    member_name = page.evaluate(
        """async (id) => {
            const db = await import("/js/db.js");
            const item = await db.get("outbox", id);
            item.payload.answers.visit_date = "2099-01-01";
            const member = item.payload.answers.members[0];
            member.member_id_number = member.member_id_number.slice(0, 17);
            await db.put("outbox", item);
            return member.member_name;
        }""",
        refused_id,
    )
    card = sync_until_it_needs_a_look(page, context, refused_id)
    assert refusal_lines(card, [
        "调查日期：调查日期2099-01-01晚于今天",
        f"{member_name} · 身份证号码：身份证号码应为18位",
    ])
    assert card.locator(".refusal p").inner_text() == "答案不符合问卷"
    assert "answers." not in card.inner_text()

    page.evaluate("localStorage.setItem('ruhu.lang', 'en')")
    page.reload()
    page.goto("/#/sync")
    assert refusal_lines(card, [
        "Date of the visit: the visit date 2099-01-01 is after today",
        f"{member_name} · ID number: An ID number has 18 characters",
    ])
    page.evaluate("localStorage.setItem('ruhu.lang', 'zh')")
    page.reload()
    page.goto("/#/sync")

    card.locator("button[data-action=reopen]").click()
    refused = page.locator("#refused")
    refused.wait_for()
    assert f"{member_name} · 身份证号码：身份证号码应为18位" in refused.inner_text()
    assert "answers." not in refused.inner_text()
    # The error is there to fix, at the field.
    page.click("nav.sections button[data-section=family]")
    field = page.locator(".repeat-item").first.locator(".field[data-name=member_id_number]")
    assert field.locator("input").input_value() != ""


@pytest.mark.parametrize(("lang", "path", "expected"), [
    ("zh", "answers.visit_date", "调查日期"),
    ("zh", "answers.sig_household", "被调查人签名"),
    ("zh", "answers.members[0].member_id_number", "王建国 · 身份证号码"),
    ("zh", "answers.members[1].birth_date", "家庭成员第2项 · 出生日期"),
    ("zh", "answers.members.m-head.id_number", "王建国 · 身份证号码"),
    ("zh", "answers.members.m-head", "王建国"),
    ("zh", "members.m-head.occupation", "王建国 · 就业、务工或在校情况"),
    ("zh", "answers.members.m-gone.id_number", "家庭成员 · 身份证号码"),
    ("zh", "answers.household.phone", "联系电话"),
    ("en", "answers.members[1].birth_date", "Member 2 · Date of birth"),
    ("en", "answers.members.m-head.id_number", "王建国 · ID number"),
    ("zh", "answers.no_such_question", "answers.no_such_question"),
    ("zh", "media.0.size", "media.0.size"),
    ("zh", "answers.members[7].member_name", "家庭成员 · 姓名"),
])
def test_paths_are_named_by_label_and_member(page, live_server, lang, path, expected):
    """Every shape of path the server names an answer by: top-level, a repeat item by
    position (answer paths) or by id (record paths), a named and an unnamed member, one
    not in the answers, the household's fields; a path the form does not know stays."""
    page.goto("/")
    page.wait_for_selector("#username")
    answers = {"members": [{"id": "m-head", "member_name": "王建国"}, {"id": "m-new"}]}
    named = page.evaluate(
        """async ({form, answers, path, lang}) => {
            const i18n = await import("/js/i18n.js");
            const formdef = await import("/js/formdef.js");
            i18n.setLang(lang);
            return formdef.describePath(form, path, answers);
        }""",
        {"form": SURVEY, "answers": answers, "path": path, "lang": lang},
    )
    assert named == expected
