"""Conflicts about sensitive values (an ID number, health, an income): deciding one needs its
values in full, so showing them is audited, in the console's list and in the API's."""

import pytest
from sqlalchemy import select

from server.domain.record import shows_sensitive
from server.extensions import db
from server.models import AuditEntry, Conflict
from tests.conftest import TOWNSHIP_1

pytest_plugins = ["tests.console_helpers"]


@pytest.fixture
def township_1(demo):
    """The households of township 1."""
    return demo.households_in(TOWNSHIP_1)


def two_teams_edit(scenario, demo, household, first: dict, second: dict) -> Conflict:
    """inv1 and inv2 change the same answer from one base: return the open conflict."""
    base = household.version
    scenario.record_edit("inv1", household, first, base_version=base)
    scenario.record_edit("inv2", household, second, base_version=base,
                         investigators=[demo.user("inv2").id])
    db.session.expire_all()
    return db.session.scalar(select(Conflict).where(
        Conflict.status == "open", Conflict.household_id == household.id))


def id_number_conflict(scenario, demo, household) -> Conflict:
    """inv1 and inv2 give the head two different ID numbers: return the open conflict."""
    member = household.members[0]
    conflict = two_teams_edit(
        scenario, demo, household,
        {"members": [{"id": member.id, "id_number": "230229197001010015"}]},
        {"members": [{"id": member.id, "id_number": "230229197001010031"}]},
    )
    assert conflict.path == f"members.{member.id}.id_number"
    return conflict


def conflict_reads() -> list[AuditEntry]:
    """Return the audit entries of conflict reads, oldest first."""
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "conflicts.read").order_by(AuditEntry.id)))


@pytest.mark.parametrize(("path", "values", "sensitive"), [
    ("members.m1.id_number", ("1", "2"), True),
    ("incomes.i1.amount", (100, 200), True),
    ("members.m1.health", ("healthy", "disabled"), True),
    ("members.m1.name", ("甲", "乙"), False),
    ("household.phone", ("1", "2"), False),
    ("members.m1", (None, {"name": "甲", "id_number": "230229197001010015"}), True),
    ("members.m1", (None, {"name": "甲", "id_number": ""}), False),
])
def test_which_conflicts_show_sensitive_values(path, values, sensitive):
    assert shows_sensitive(path, *values) is sensitive


def test_the_console_list_showing_an_id_number_conflict_is_audited(
        console, scenario, demo, township_1):
    household = township_1[5]
    conflict = id_number_conflict(scenario, demo, household)
    page = console.as_user("sup1").text("/console/conflicts")
    assert "230229197001010031" in page  # in full: the supervisor compares the digits
    [entry] = conflict_reads()
    assert entry.actor_name == "sup1" and entry.ip
    assert entry.detail == {"conflicts": [conflict.id], "households": [household.id]}


def test_the_api_list_showing_an_id_number_conflict_is_audited(api, scenario, demo, township_1):
    household = township_1[6]
    conflict = id_number_conflict(scenario, demo, household)
    response = api.as_user("sup1").get("/api/v1/conflicts?status=open")
    assert response.status_code == 200
    assert [c["id"] for c in response.get_json()["conflicts"]] == [conflict.id]
    [entry] = conflict_reads()
    assert entry.actor_name == "sup1"
    assert entry.detail == {"conflicts": [conflict.id], "households": [household.id]}


def test_a_list_without_sensitive_values_writes_no_entry(console, api, scenario, demo,
                                                         township_1):
    household = township_1[7]
    two_teams_edit(scenario, demo, household, {"phone": "13900000001"},
                   {"phone": "13900000002"})
    assert "13900000002" in console.as_user("sup1").text("/console/conflicts")
    assert api.as_user("sup1").get("/api/v1/conflicts").status_code == 200
    assert conflict_reads() == []
