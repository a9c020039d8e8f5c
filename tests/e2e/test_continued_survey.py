"""One phone surveys a household twice before the next download: the second survey continues
the first (previous_instance_id), starts from its answers, and the two never conflict."""

import pytest
from sqlalchemy import select

from server.extensions import db
from server.models.conflict import Conflict
from server.models.household import Household
from server.models.submission import Submission

from .conftest import dump, sign_in
from .survey import fill_and_finish, make_it_refused, make_photos
from .test_conflict import open_household

pytestmark = pytest.mark.e2e


def first_survey_offline(new_context, tmp_path):
    """Sign in as inv1, go offline and survey the first household, changing its address;
    return (page, household code, photos, instance id)."""
    page = new_context().new_page()
    sign_in(page, "inv1")
    code = page.locator("#household-list li a .hh-meta").first.inner_text().split(" · ")[0]
    page.context.set_offline(True)
    photos = make_photos(tmp_path, 2)
    open_household(page, code)
    page.click("#start-survey")
    assert page.locator("#continues").count() == 0  # nothing to continue yet
    return page, code, photos, fill_and_finish(page, photos, {"address": "城东社区1组1号（第一次）"})


def start_again(page, code: str) -> None:
    """Start another survey of the household: it says it continues the first."""
    page.evaluate("location.hash = '#/households'")
    open_household(page, code)
    page.click("#start-survey")
    page.wait_for_selector("#continues")


def test_a_second_offline_survey_continues_the_first_without_a_conflict(
    new_context, live_server, tmp_path
):
    page, code, photos, first = first_survey_offline(new_context, tmp_path)
    # Back at the door the same day, still offline: the survey shows what was entered then.
    start_again(page, code)
    page.click("nav.sections button[data-section=basics]")
    address = page.locator("#section .field[data-name=address] input").first
    assert address.input_value() == "城东社区1组1号（第一次）"
    second = fill_and_finish(page, photos[::-1], {"address": "城东社区1组1号（第二次）"})
    payload = page.evaluate(
        """async (id) => (await (await import("/js/db.js")).get("outbox", id)).payload""", second
    )
    assert payload["previous_instance_id"] == first, dump(payload)
    assert payload["answers"]["address"] == "城东社区1组1号（第二次）"

    page.context.set_offline(False)
    for instance_id in (first, second):
        page.wait_for_selector(f"#sent li[data-instance='{instance_id}']", timeout=30000)

    def stored():
        household = db.session.scalar(select(Household).where(Household.code == code))
        rows = {
            s.instance_id: (s.merge_state, s.previous_instance_id, s.merge_base)
            for s in db.session.scalars(
                select(Submission).where(Submission.instance_id.in_([first, second]))
            )
        }
        conflicts = db.session.scalars(
            select(Conflict.path).where(Conflict.household_id == household.id)
        ).all()
        return household.address, rows, conflicts

    address, rows, conflicts = live_server.query(stored)
    assert conflicts == [], dump(conflicts)
    assert address == "城东社区1组1号（第二次）"
    assert rows[first][0] == rows[second][0] == "merged", dump(rows)
    assert rows[second][1] == first
    assert rows[second][2]["chain"] == [first], dump(rows[second][2])


def test_a_survey_continuing_a_refused_one_waits_and_follows_it_when_fixed(
    new_context, live_server, tmp_path
):
    """The first survey is refused by the server: the one continuing it is not sent (the
    server would hold it for a predecessor that never comes); taken back and finished again
    under a new id, the first is continued by the second, and both merge."""
    page, code, photos, refused = first_survey_offline(new_context, tmp_path)
    make_it_refused(page, refused)
    start_again(page, code)
    second = fill_and_finish(page, photos[::-1], {"address": "城东社区1组1号（第二次）"})

    page.context.set_offline(False)
    page.click("#sync-now")
    card = page.locator(f"#outbox li[data-instance='{refused}'][data-state=attention]")
    card.wait_for(timeout=30000)
    page.wait_for_selector("#sync-now:not([disabled])")

    def states(*ids):
        def read():
            return {
                s.instance_id: (s.merge_state, s.previous_instance_id)
                for s in db.session.scalars(
                    select(Submission).where(Submission.instance_id.in_(ids))
                )
            }
        return read

    assert live_server.query(states(refused, second)) == {}  # neither reached the server
    assert page.locator(f"#outbox li[data-instance='{second}']").count() == 1

    card.locator("button[data-action=reopen]").click()
    page.wait_for_selector("#refused")
    fixed = page.evaluate("location.hash.split('/').pop()")
    queued = page.evaluate(
        """async (id) => (await (await import("/js/db.js")).get("outbox", id)).payload""", second
    )
    assert queued["previous_instance_id"] == fixed, dump(queued)
    page.click("nav.sections button[data-section=review]")
    page.wait_for_selector("#finish")
    page.click("#finish")
    page.wait_for_url("**/#/sync")
    for instance_id in (fixed, second):
        page.wait_for_selector(f"#sent li[data-instance='{instance_id}']", timeout=30000)

    found = live_server.query(states(fixed, second))
    assert found == {fixed: ("merged", None), second: ("merged", fixed)}, dump(found)

    def household():
        row = db.session.scalar(select(Household).where(Household.code == code))
        conflicts = db.session.scalars(
            select(Conflict.path).where(Conflict.household_id == row.id)
        ).all()
        return row.address, conflicts

    assert live_server.query(household) == ("城东社区1组1号（第二次）", [])
