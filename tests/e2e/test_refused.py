"""A survey the server refuses does not stay stuck in the outbox: the investigator takes it
back, fixes it and finishes it again, with its photos."""

import pytest
from sqlalchemy import func, select

from server.extensions import db
from server.models.submission import Submission, SubmissionMedia

from .conftest import idb_outbox, sign_in
from .survey import fill_and_finish, make_photos

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


def test_a_refused_survey_is_fixed_and_finished_again(page, context, live_server, tmp_path):
    refused_id = finished_offline(page, context, tmp_path)
    # What the server will refuse (a phone on an old build could send it): an answer to a
    # question the form does not have.
    page.evaluate(
        """async (id) => {
            const db = await import("/js/db.js");
            const item = await db.get("outbox", id);
            item.payload.answers.no_such_question = 1;
            await db.put("outbox", item);
        }""",
        refused_id,
    )
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

    status, unknown_kept, photos, refused = live_server.query(stored)
    assert (status, unknown_kept, refused) == ("complete", False, 0)
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
