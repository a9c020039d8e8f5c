"""The merge rules as pure domain tests: a table of cases, household fields and members."""

import pytest

from server.domain.merge import merge, overlay, paths_overlap, revert, set_value
from server.domain.record import diff, empty_record

A, B = "aaaaaaaa-0000-4000-8000-000000000001", "bbbbbbbb-0000-4000-8000-000000000002"
C = "cccccccc-0000-4000-8000-000000000003"
ZHANG = {"name": "张三", "occupation": "务农", "health": "healthy"}
LI = {"name": "李四", "occupation": "外出务工", "health": "healthy"}


def rec(household=None, members=None, **collections) -> dict:
    """Build a record from keyword parts."""
    record = empty_record()
    record["household"] = dict(household or {})
    record["members"] = {k: None if v is None else dict(v) for k, v in (members or {}).items()}
    record.update(collections)
    return record


def part(household=None, members=None) -> dict:
    """Build a partial record (what a submission binds)."""
    return rec(household, members)


BASE = rec({"address": "1组1号", "phone": "13800000000", "hardship_cause": "illness"},
           {A: ZHANG, B: LI})

# (name, server, mine, expected record changes vs server, expected conflict paths)
CASES = [
    ("only the submission changed a field → applied",
     BASE, part({"address": "2组2号"}),
     {"household.address": "2组2号"}, []),
    ("a field absent from the answers is unchanged",
     rec({**BASE["household"], "phone": "13900000000"}, BASE["members"]), part({}),
     {}, []),
    ("a submitted value equal to the base is no change, even when the server moved on",
     rec({**BASE["household"], "address": "3组3号"}, BASE["members"]),
     part({"address": "1组1号"}),
     {}, []),
    ("both changed it to the same value → no conflict",
     rec({**BASE["household"], "address": "2组2号"}, BASE["members"]),
     part({"address": "2组2号"}),
     {}, []),
    ("both changed it differently → conflict, server value stays",
     rec({**BASE["household"], "address": "3组3号"}, BASE["members"]),
     part({"address": "2组2号"}),
     {}, ["household.address"]),
    ("an empty value is a change",
     BASE, part({"phone": ""}),
     {"household.phone": ""}, []),
    ("None is a change too (a cleared answer)",
     BASE, part({"hardship_cause": None}),
     {"household.hardship_cause": None}, []),
    ("different fields changed on each side both survive",
     rec({**BASE["household"], "phone": "13900000000"}, BASE["members"]),
     part({"address": "2组2号"}),
     {"household.address": "2组2号"}, []),
    ("member field edited by the submission only → applied",
     BASE, part(members={A: {**ZHANG, "occupation": "灵活就业"}}),
     {f"members.{A}.occupation": "灵活就业"}, []),
    ("member fields edited on both sides, different fields → both land",
     rec(BASE["household"], {A: {**ZHANG, "health": "chronic_illness"}, B: LI}),
     part(members={A: {**ZHANG, "occupation": "灵活就业"}}),
     {f"members.{A}.occupation": "灵活就业"}, []),
    ("member field edited on both sides differently → conflict on that field",
     rec(BASE["household"], {A: {**ZHANG, "occupation": "无业"}, B: LI}),
     part(members={A: {**ZHANG, "occupation": "灵活就业"}}),
     {}, [f"members.{A}.occupation"]),
    ("two phones adding different members both land",
     rec(BASE["household"], {**BASE["members"], C: {"name": "王五"}}),
     part(members={"dddddddd-0000-4000-8000-000000000004": {"name": "赵六"}}),
     {"members.dddddddd-0000-4000-8000-000000000004": {"name": "赵六"}}, []),
    ("removal of an unchanged member → applied",
     BASE, part(members={B: None}),
     {f"members.{B}": None}, []),
    ("removal of a member the server edited → conflict on the whole member",
     rec(BASE["household"], {A: ZHANG, B: {**LI, "occupation": "无业"}}),
     part(members={B: None}),
     {}, [f"members.{B}"]),
    ("edit of a member the server removed → conflict on the whole member",
     rec(BASE["household"], {A: ZHANG}),
     part(members={B: {**LI, "occupation": "无业"}}),
     {}, [f"members.{B}"]),
    ("resending an unchanged member the server removed is no change",
     rec(BASE["household"], {A: ZHANG}),
     part(members={B: LI}),
     {}, []),
    ("both removed the same member → nothing to do",
     rec(BASE["household"], {A: ZHANG}),
     part(members={B: None}),
     {}, []),
    ("removing a member the phone never saw changes nothing",
     BASE, part(members={C: None}),
     {}, []),
    ("the same new UUID on both sides with equal fields → no conflict",
     rec(BASE["household"], {**BASE["members"], C: {"name": "王五"}}),
     part(members={C: {"name": "王五"}}),
     {}, []),
    ("the same new UUID on both sides with different fields → conflict per field",
     rec(BASE["household"], {**BASE["members"], C: {"name": "王五"}}),
     part(members={C: {"name": "王六"}}),
     {}, [f"members.{C}.name"]),
    ("a mix: one applied, one conflict, one no-op",
     rec({**BASE["household"], "phone": "13900000000"}, {A: {**ZHANG, "health": "disabled"},
                                                         B: LI}),
     part({"address": "2组2号", "phone": "13700000000"},
          {A: {**ZHANG, "health": "disabled"}, B: {**LI, "occupation": "务农"}}),
     {"household.address": "2组2号", f"members.{B}.occupation": "务农"},
     ["household.phone"]),
]


@pytest.mark.parametrize(("server", "mine", "expected", "conflict_paths"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_merge_rules(server, mine, expected, conflict_paths):
    """Each row of the table: the merged record differs from the server exactly as expected."""
    result = merge(BASE, server, mine)
    changes = {c["path"]: c["new"] for c in diff(server, result.record)}
    assert changes == expected
    assert {c["path"]: c["new"] for c in result.applied} == expected
    assert [c["path"] for c in result.conflicts] == conflict_paths


def test_conflict_names_base_server_and_submitted_values():
    """A conflict carries everything a supervisor needs to decide."""
    server = rec({**BASE["household"], "address": "3组3号"}, BASE["members"])
    result = merge(BASE, server, part({"address": "2组2号"}))
    assert result.conflicts == [{"path": "household.address", "base": "1组1号",
                                 "server": "3组3号", "submitted": "2组2号"}]
    assert result.record["household"]["address"] == "3组3号"


def test_edit_versus_removal_conflict_carries_whole_items():
    """The submitted side of an edit-vs-removal conflict is the edited member, whole."""
    server = rec(BASE["household"], {A: ZHANG})
    result = merge(BASE, server, part(members={B: {"occupation": "无业"}}))
    assert result.conflicts == [{"path": f"members.{B}", "base": LI, "server": None,
                                 "submitted": {**LI, "occupation": "无业"}}]


def test_merge_never_mutates_its_inputs():
    """Inputs stay as they were (the service reuses them)."""
    server = rec(BASE["household"], BASE["members"])
    mine = part({"address": "9组9号"}, {A: {"occupation": "x"}, B: None})
    snapshot = repr((BASE, server, mine))
    merge(BASE, server, mine)
    assert repr((BASE, server, mine)) == snapshot


def test_unknown_fields_in_items_are_ignored():
    """Only record fields merge; anything else in an item is dropped."""
    result = merge(BASE, BASE, part(members={C: {"name": "王五", "shoe_size": 42}}))
    assert result.record["members"][C] == {"name": "王五"}


def test_overlay_gives_the_phones_view():
    """overlay lays a partial record over a record: edits, additions and removals."""
    view = overlay(BASE, part({"address": "2组2号"}, {A: {"occupation": "无业"}, B: None,
                                                     C: {"name": "王五"}}))
    assert view["household"]["address"] == "2组2号"
    assert view["members"] == {A: {**ZHANG, "occupation": "无业"}, C: {"name": "王五"}}
    assert BASE["members"][A]["occupation"] == "务农"


def test_chained_links_merged_on_the_phones_view_never_conflict():
    """Link 2 based on (base + link 1) applies cleanly after link 1 was merged."""
    link1 = part({"address": "2组2号"})
    link2 = part({"address": "3组3号"})
    after1 = merge(BASE, BASE, link1).record
    result = merge(overlay(BASE, link1), after1, link2)
    assert result.conflicts == []
    assert result.record["household"]["address"] == "3组3号"


def test_set_value_on_fields_and_items():
    """set_value writes a field, replaces an item, or removes one."""
    assert set_value(BASE, "household.phone", "1")["household"]["phone"] == "1"
    assert set_value(BASE, f"members.{A}.name", "甲")["members"][A]["name"] == "甲"
    assert B not in set_value(BASE, f"members.{B}", None)["members"]
    assert set_value(BASE, f"members.{C}", {"name": "王五"})["members"][C] == {"name": "王五"}


@pytest.mark.parametrize(("a", "b", "overlap"), [
    ("household.phone", "household.phone", True),
    ("household.phone", "household.address", False),
    (f"members.{A}", f"members.{A}.name", True),
    (f"members.{A}.name", f"members.{A}", True),
    (f"members.{A}.name", f"members.{A}.occupation", False),
    (f"members.{A}", f"members.{B}", False),
])
def test_paths_overlap(a, b, overlap):
    """An item path overlaps its own fields, never another item's."""
    assert paths_overlap(a, b) is overlap


def test_revert_undoes_only_what_no_later_version_overwrote():
    """Reverting skips fields changed later and items removed since; the rest is undone."""
    applied = [
        {"path": "household.address", "old": "1组1号", "new": "2组2号"},
        {"path": "household.phone", "old": "13800000000", "new": "1"},
        {"path": f"members.{C}", "old": None, "new": {"name": "王五"}},
        {"path": f"members.{B}", "old": LI, "new": None},
        {"path": f"members.{A}.occupation", "old": "务农", "new": "无业"},
    ]
    current = rec({**BASE["household"], "address": "2组2号", "phone": "9"},
                  {A: {**ZHANG, "occupation": "无业"}, C: {"name": "王五"}})
    record, undone = revert(current, applied, later_paths={"household.phone", f"members.{A}"})
    assert record["household"] == {**BASE["household"], "phone": "9"}
    assert record["members"] == {A: {**ZHANG, "occupation": "无业"}, B: LI}
    assert [c["path"] for c in undone] == ["household.address", f"members.{C}", f"members.{B}"]
