"""Feedback from the server: a supervisor's "has issues" comment, and the correction."""

import pytest
from sqlalchemy import select

from server.extensions import db
from server.models import Household
from server.models.submission import Submission
from tests.conftest import TOWNSHIP_1
from tests.sync_helpers import survey

from .conftest import sign_in
from .survey import fill_and_finish, make_photos

pytestmark = pytest.mark.e2e


def test_a_survey_with_issues_is_corrected_from_the_feedback(page, live_server, tmp_path):
    """The comment shows on the phone; the correction reuses the answers and photos."""
    sign_in(page)
    page.locator("#household-list li a").first.click()
    page.click("#start-survey")
    original = fill_and_finish(page, make_photos(tmp_path, 2), {"address": "旧地址1号"})
    page.wait_for_selector(f"#sent li[data-instance='{original}']", timeout=30000)

    client = live_server.app.test_client()
    review = client.post(
        f"/api/v1/submissions/{original}/review",
        json={"state": "has_issues", "comment": "地址写错了，请核实后更正"},
        headers=live_server.login("sup1"),
    )
    assert review.status_code == 200, review.get_json()

    page.click("#sync-now")
    sent = page.locator(f"#sent li[data-instance='{original}']")
    sent.locator("text=地址写错了，请核实后更正").wait_for(timeout=20000)
    assert sent.get_attribute("data-review") == "has_issues"
    assert "有问题" in sent.inner_text()

    sent.locator("button", has_text="更正这份调查").click()
    page.wait_for_selector(".field[data-name=address]")
    address = page.locator(".field[data-name=address] input")
    assert address.input_value() == "旧地址1号"
    address.fill("新地址2号")
    page.click("nav.sections button[data-section=review]")
    page.locator("p.info", has_text="更正调查").wait_for()
    page.click("#finish")
    page.wait_for_url("**/#/sync")
    page.wait_for_selector(f"#sent li[data-instance='{original}'] a:has-text('已在更正')")

    def correction():
        row = db.session.scalar(
            select(Submission).where(Submission.corrects_instance_id == original)
        )
        return row and (row.status, row.answers["address"], len(row.media))

    for _ in range(60):
        found = live_server.query(correction)
        if found and found[0] == "complete":
            break
        page.wait_for_timeout(500)
    status, address_sent, media = found
    assert status == "complete" and address_sent == "新地址2号"
    assert media == 5  # the two photos and three signatures, fetched back for the correction


def test_surveys_sent_before_this_sign_in_are_named_by_their_household(page, live_server):
    """The feed names a household by its id only: the phone names it from its downloaded
    households (head and code), as it names the surveys it sent itself."""
    def first_household():
        household = db.session.scalar(
            select(Household).where(Household.code.startswith(TOWNSHIP_1)).order_by(Household.code))
        return household.id, household.code, household.version

    household_id, code, version = live_server.query(first_household)
    headers = live_server.login("inv1")
    client = live_server.app.test_client()
    me = client.get("/api/v1/auth/me", headers=headers).get_json()
    body = survey(None, {"address": "另一部手机"}, investigators=[(me.get("user") or me)["id"]],
                  household_id=household_id, base_version=version)
    sent = client.post("/api/v1/submissions", json=body, headers=headers)
    assert sent.status_code == 201, sent.get_json()

    sign_in(page)
    page.goto("/#/sync")
    page.click("#sync-now")
    item = page.locator(f"#sent li[data-instance='{body['instance_id']}']")
    item.wait_for(timeout=20000)
    assert code in item.locator("strong").inner_text()
