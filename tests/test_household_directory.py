"""The household list's 'last visit': a survey done at the door, dated when it was done."""

from datetime import datetime

from server.extensions import db
from server.services import household_directory
from tests.audit_helpers import merged_survey
from tests.conftest import TOWNSHIP_1

pytest_plugins = ["tests.console_helpers"]


def _last_visit(user, household) -> datetime | None:
    page = household_directory.search(user, q=household.code)
    (row,) = [r for r in page.items if r.household.id == household.id]
    return row.last_visit


def _never_visited(user, household) -> bool:
    page = household_directory.search(user, q=household.code, flags=("never_visited",))
    return any(r.household.id == household.id for r in page.items)


def test_last_visit_is_the_latest_survey_done_not_an_edit_or_a_rejected_one(demo, scenario):
    household = demo.households_in(TOWNSHIP_1)[2]
    sup1, inv1 = demo.user("sup1"), demo.user("inv1")
    assert _last_visit(sup1, household) is None
    # A record edit (the record form) sent today is no visit.
    scenario.record_edit("inv1", household, {"address": "改地址"})
    assert _last_visit(sup1, household) is None
    assert _never_visited(sup1, household)
    # A survey done on 22 May and sent later is a visit of 22 May.
    merged_survey(household, inv1, completed_at=datetime(2026, 5, 22, 2, 0))
    later = merged_survey(household, inv1, completed_at=datetime(2026, 6, 1, 3, 0))
    assert not _never_visited(sup1, household)
    assert _last_visit(sup1, household) == datetime(2026, 6, 1, 3, 0)
    # A rejected survey does not count as a visit.
    later.review_state = "rejected"
    db.session.commit()
    assert _last_visit(sup1, household) == datetime(2026, 5, 22, 2, 0)
    # Sorting by last visit uses the same rule; the never visited come last.
    page = household_directory.search(sup1, sort="last_visit", descending=True, per_page=5)
    assert page.items[0].household.id == household.id
