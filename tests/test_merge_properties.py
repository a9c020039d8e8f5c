"""Property tests of the merge (hypothesis): any interleaving of submissions loses no field,
and a conflict appears exactly when two different values compete."""

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from server.domain.merge import merge
from server.domain.record import empty_record

FIELDS = ("address", "phone", "status", "hardship_cause")
MEMBER_IDS = ("m-1", "m-2")
MEMBER_FIELDS = ("occupation", "health")
VALUES = st.sampled_from(["a", "b", "c", "", None])


def _base() -> dict:
    """Return a small base record with two members."""
    record = empty_record()
    record["household"] = {f: "base" for f in FIELDS}
    record["members"] = {m: {f: "base" for f in MEMBER_FIELDS} for m in MEMBER_IDS}
    return record


# A submission: some household fields and some member fields, each set to a value.
submissions = st.lists(
    st.tuples(
        st.dictionaries(st.sampled_from(FIELDS), VALUES, max_size=len(FIELDS)),
        st.dictionaries(
            st.tuples(st.sampled_from(MEMBER_IDS), st.sampled_from(MEMBER_FIELDS)),
            VALUES,
            max_size=4,
        ),
    ),
    min_size=1,
    max_size=4,
)
pairs = submissions.filter(lambda drawn: len(drawn) >= 2)


def _partial(submission) -> dict:
    """Turn a drawn submission into a partial record."""
    household, member_fields = submission
    partial = empty_record()
    partial["household"] = dict(household)
    for (member, name), value in member_fields.items():
        partial["members"].setdefault(member, {})[name] = value
    return partial


def _changes(partial: dict, base: dict) -> dict[str, object]:
    """Return {path: value} of what a partial record changes relative to the base."""
    found = {
        f"household.{k}": v for k, v in partial["household"].items() if v != base["household"][k]
    }
    for member, item in partial["members"].items():
        for name, value in item.items():
            if value != base["members"][member][name]:
                found[f"members.{member}.{name}"] = value
    return found


def _value(record: dict, path: str):
    """Return the value at a household or member field path."""
    parts = path.split(".")
    if parts[0] == "household":
        return record["household"][parts[1]]
    return record["members"][parts[1]][parts[2]]


@settings(max_examples=300, deadline=None)
@given(submissions, st.randoms(use_true_random=False))
def test_no_interleaving_loses_a_field(drawn, rng):
    """Submissions from one base, merged in any order: every change lands or is a conflict."""
    base = _base()
    partials = [_partial(s) for s in drawn]
    order = list(range(len(partials)))
    rng.shuffle(order)
    record, outcomes = base, {}
    for index in order:
        result = merge(base, record, partials[index])
        outcomes[index] = (record, result)
        record = result.record
    for index, partial in enumerate(partials):
        server_then, result = outcomes[index]
        applied = {c["path"]: c["new"] for c in result.applied}
        conflicts = {c["path"]: c for c in result.conflicts}
        for change in result.applied:
            # All submissions share one base: overwriting another team's value silently
            # would be a lost update.
            assert change["old"] == _value(base, change["path"]), change
        for path, value in _changes(partial, base).items():
            landed = applied.get(path, object()) == value
            already = _value(server_then, path) == value
            kept = path in conflicts and conflicts[path]["submitted"] == value
            assert landed or already or kept, (path, value)
            if path in conflicts:
                # The server value stays until a supervisor decides.
                assert _value(result.record, path) == _value(server_then, path)
    # Every final value was someone's: the base or a submitted one.
    all_paths = [f"household.{f}" for f in FIELDS] + [
        f"members.{m}.{f}" for m in MEMBER_IDS for f in MEMBER_FIELDS
    ]
    for path in all_paths:
        submitted = [_changes(p, base)[path] for p in partials if path in _changes(p, base)]
        assert _value(record, path) in [*submitted, "base"]


@settings(max_examples=300, deadline=None)
@given(pairs)
def test_conflict_exactly_when_two_different_values_compete(drawn):
    """For two submissions from one base: a conflict on a path iff both changed it differently."""
    base = _base()
    first, second = (_partial(s) for s in drawn[:2])
    after_first = merge(base, base, first)
    assert after_first.conflicts == []  # nothing competes with the first arrival
    result = merge(base, after_first.record, second)
    changes_1, changes_2 = _changes(first, base), _changes(second, base)
    expected = {p for p in changes_1.keys() & changes_2.keys() if changes_1[p] != changes_2[p]}
    assert {c["path"] for c in result.conflicts} == expected
    for conflict in result.conflicts:
        path = conflict["path"]
        assert (conflict["base"], conflict["server"], conflict["submitted"]) == (
            "base",
            changes_1[path],
            changes_2[path],
        )


@settings(max_examples=200, deadline=None)
@given(pairs)
def test_merge_order_does_not_change_which_paths_conflict(drawn):
    """Two submissions conflict on the same paths whichever arrives first."""
    base = _base()
    for first, second in itertools.permutations([_partial(s) for s in drawn[:2]]):
        paths = {c["path"] for c in merge(base, merge(base, base, first).record, second).conflicts}
        reverse = {
            c["path"] for c in merge(base, merge(base, base, second).record, first).conflicts
        }
        assert paths == reverse
