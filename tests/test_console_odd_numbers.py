"""Numbers typed into the console's query strings and forms that Python reads oddly are
bad input, never a 500: digits that are not ASCII ("²", "١"), for which str.isdigit() is
true but int() fails or reads another number."""

import pytest
from sqlalchemy import select

from server.extensions import db
from server.models import ReviewAssignment

pytest_plugins = ["tests.console_helpers"]

SUPERSCRIPT_TWO = "²"  # isdigit(), and int() refuses it


def test_a_non_ascii_digit_in_the_audit_household_filter_is_ignored(console, demo):
    """/console/audit?household=² is the list without that filter, as ?household=abc is
    (it was a 500: isdigit() let it through to int())."""
    client = console.as_user("sup1")
    assert client.get(f"/console/audit?household={SUPERSCRIPT_TWO}").status_code == 200
    assert client.get("/console/audit?household=abc").status_code == 200


@pytest.mark.parametrize("form", [
    {"household": SUPERSCRIPT_TWO, "investigator": ""},
    {"household": "1", "investigator": SUPERSCRIPT_TWO},
])
def test_a_non_ascii_digit_in_the_review_assignment_form_is_refused(console, demo, form):
    """Posting the review calendar's form with "²" as a household or investigator assigns
    nothing and answers as for a form without a number (a redirect with a message), not a
    500."""
    response = console.as_user("sup1").post("/console/reviews/assign", form)
    assert response.status_code == 302
    assert db.session.scalar(select(ReviewAssignment)) is None


def test_a_non_ascii_digit_ticked_on_a_roll_is_nothing_ticked(console, demo):
    """A roll's "enter in the ledger" form with "²" as the mismatch ticked is "nothing
    ticked" (back to the roll with a message), not a 500."""
    response = console.as_user("sup1").post("/console/rolls/1/ledger",
                                           {"mismatch": SUPERSCRIPT_TWO})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/console/rolls/1")
