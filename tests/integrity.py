"""Integrity checks shared by the scale and fault tests: what must hold after any workload."""

from collections import Counter

from sqlalchemy import func, select

from server.domain.record import diff
from server.extensions import db
from server.models import Conflict, Household, HouseholdVersion, Submission
from server.services.household_record import to_record


def assert_versions_consistent(household_id: int) -> list[HouseholdVersion]:
    """Assert a household's history is whole: no half-merge, no gap, no lost write.

    Versions run 1..N without a gap, the household is at N, each version's changes are
    exactly the difference between its snapshot and the one before, and the last snapshot
    equals the rows. Returns the versions.
    """
    db.session.expire_all()
    household = db.session.get(Household, household_id)
    versions = list(db.session.scalars(select(HouseholdVersion).where(
        HouseholdVersion.household_id == household_id).order_by(HouseholdVersion.version)))
    assert [v.version for v in versions] == list(range(1, len(versions) + 1)), household_id
    assert household.version == len(versions), household_id
    previous = {}
    for version in versions:
        assert version.changes == diff(previous, version.snapshot), (household_id,
                                                                     version.version)
        previous = version.snapshot
    assert versions[-1].snapshot == to_record(household), household_id
    return versions


def assert_each_submission_once(instance_ids) -> None:
    """Assert every acknowledged instance_id is stored exactly once, and nothing else is."""
    rows = Counter(db.session.scalars(select(Submission.instance_id)))
    expected = set(instance_ids)
    assert {k for k, n in rows.items() if n > 1} == set(), "duplicate submissions"
    assert expected <= set(rows), f"lost: {sorted(expected - set(rows))[:5]}"


def conflicts_by_submission() -> dict[str, int]:
    """Return {instance_id: number of conflicts it raised}."""
    rows = db.session.execute(
        select(Submission.instance_id, func.count(Conflict.id))
        .join(Conflict, Conflict.submission_id == Submission.id)
        .group_by(Submission.instance_id)
    ).all()
    return dict(rows)
