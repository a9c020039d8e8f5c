"""The re-visit marker probes first: households with no active ledger entry and no review
assignment get no marker without the three marker queries; the others get the same marker
as before, in a single call for a mix of both."""

import pytest

from server.extensions import db
from server.models import ReviewAssignment
from server.services import ledger
from tests.conftest import TOWNSHIP_1
from tests.query_helpers import counted


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
    with counted() as statements:
        assert ledger.annotate([household])[0].revisit is None
    assert len(statements) == 1


def test_qr_lookup_reads_the_probe_with_the_household(api, demo, monkeypatch):
    """The lookup folds the probe into its household query: the marker is the same as the
    household fetch gives, for a household to re-survey, an assigned one and a quiet one."""
    marked, assigned, quiet = demo.households_in(TOWNSHIP_1)[6:9]
    ledger.open_entry(household=marked, category="miscalculation", source="manual",
                      actions=["resurvey"], description="核实")
    db.session.add(ReviewAssignment(household_id=assigned.id,
                                    investigator_id=demo.user("inv2").id))
    db.session.commit()
    inv1 = api.as_user("inv1")
    looked_up_all = {}
    # The lookup runs no separate probe: it came with the household's own query.
    monkeypatch.setattr(ledger, "_with_candidates",
                        lambda ids: pytest.fail("the lookup ran a separate probe"))
    for household in (marked, assigned, quiet):
        looked_up_all[household.id] = inv1.get(
            f"/api/v1/households/lookup?qr={household.qr_token}")
    monkeypatch.undo()
    for household in (marked, assigned, quiet):
        looked_up = looked_up_all[household.id]
        fetched = inv1.get(f"/api/v1/households/{household.id}")
        assert looked_up.status_code == fetched.status_code == 200
        assert looked_up.get_json()["revisit"] == fetched.get_json()["revisit"]
    assert looked_up_all[quiet.id].get_json()["revisit"] is None
    marker = looked_up_all[marked.id].get_json()["revisit"]
    assert [r["category"] for r in marker["reasons"]] == ["miscalculation"]
    assert looked_up_all[assigned.id].get_json()["revisit"] == {
        "reasons": [], "assigned_to": demo.user("inv2").id}
