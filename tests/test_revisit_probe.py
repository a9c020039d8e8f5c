"""The re-visit marker probes first: households with no active ledger entry and no review
assignment get no marker without the three marker queries; the others get the same marker
as before, in a single call for a mix of both."""

from sqlalchemy import event

from server.extensions import db
from server.models import ReviewAssignment
from server.services import ledger
from tests.conftest import TOWNSHIP_1


def test_markers_of_a_mixed_set_of_households(app, demo):
    """An entry to re-survey, an assignment, a closed-off entry and nothing: one call."""
    entry_household, assigned, quiet, no_resurvey = demo.households_in(TOWNSHIP_1)[:4]
    entry = ledger.open_entry(household=entry_household, category="miscalculation",
                              source="manual", actions=["resurvey"], description="核实")
    ledger.open_entry(household=no_resurvey, category="miscalculation", source="manual",
                      actions=["recover"], description="追回")
    db.session.add(ReviewAssignment(household_id=assigned.id,
                                    investigator_id=demo.user("inv1").id))
    db.session.commit()
    markers = ledger.revisits([entry_household.id, assigned.id, quiet.id, no_resurvey.id])
    assert set(markers) == {entry_household.id, assigned.id}
    assert [r["entry_id"] for r in markers[entry_household.id]["reasons"]] == [entry.id]
    assert markers[assigned.id] == {"reasons": [], "assigned_to": demo.user("inv1").id}


def test_a_household_with_nothing_to_mark_costs_one_query(app, demo):
    """The QR lookup's case: no entry, no assignment, one probe and no marker."""
    household = demo.households_in(TOWNSHIP_1)[5]
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        assert ledger.annotate([household])[0].revisit is None
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert len(statements) == 1
