"""Two teams change the same answer offline: both sync, the second hears of the conflict."""

import pytest
from sqlalchemy import select

from server.extensions import db
from server.models.conflict import Conflict
from server.models.submission import Submission

from .conftest import dump, sign_in
from .survey import fill_and_finish, make_photos

pytestmark = pytest.mark.e2e


def open_household(page, code):
    """Open a household from the list by its code."""
    page.fill("#search", code)
    page.locator("#household-list li a").first.click()
    page.wait_for_selector("#start-survey")


def test_the_same_answer_changed_by_two_teams_is_a_conflict_for_the_second(
    new_context, live_server, tmp_path, artifacts
):
    """inv1 and inv2 both change the address offline; inv1 syncs first, then inv2."""
    first, second = new_context(), new_context()
    page_a, page_b = first.new_page(), second.new_page()
    sign_in(page_a, "inv1")
    sign_in(page_b, "inv2")
    code = page_a.locator("#household-list li a .hh-meta").first.inner_text().split(" · ")[0]
    first.set_offline(True)
    second.set_offline(True)
    photos = make_photos(tmp_path, 2)

    open_household(page_a, code)
    page_a.click("#start-survey")
    id_a = fill_and_finish(page_a, photos, {"address": "城东社区1组1号（甲队）"})
    open_household(page_b, code)
    page_b.click("#start-survey")
    id_b = fill_and_finish(page_b, photos[::-1], {"address": "城东社区2组2号（乙队）"})

    first.set_offline(False)
    page_a.wait_for_selector(f"#sent li[data-instance='{id_a}']", timeout=30000)
    assert page_a.locator(f"#sent li[data-instance='{id_a}'] .conflicts").count() == 0

    second.set_offline(False)
    sent_b = page_b.locator(f"#sent li[data-instance='{id_b}']")
    sent_b.locator(".conflicts").wait_for(timeout=30000)
    text = sent_b.locator(".conflicts").inner_text()
    assert "发现 1 处冲突" in text, text
    assert "家庭住址" in text and "乙队" in text and "甲队" in text, text
    # The list is redrawn whenever the outbox changes: scroll by selector, not by element.
    page_b.evaluate("document.querySelector('#sent').scrollIntoView()")
    page_b.screenshot(path=str(artifacts / "zh-sync-conflict.png"))

    def recorded():
        submission = db.session.scalar(select(Submission).where(Submission.instance_id == id_b))
        return [
            (c.path, c.base_value, c.server_value, c.submitted_value)
            for c in db.session.scalars(
                select(Conflict).where(Conflict.submission_id == submission.id)
            )
        ]

    conflicts = live_server.query(recorded)
    assert [c[0] for c in conflicts] == ["household.address"], dump(conflicts)
    _, base, server, submitted = conflicts[0]
    assert server == "城东社区1组1号（甲队）" and submitted == "城东社区2组2号（乙队）"
    assert base not in (server, submitted)
