"""Household versions and the commit-ordered change sequence behind the delta cursor."""

from dataclasses import dataclass

from sqlalchemy import bindparam, insert, select, update

from ..domain.record import diff
from ..extensions import db
from ..models import ChangeCounter, Household, HouseholdVersion, User
from ..models.clock import utcnow
from .household_record import to_record
from .plain_sql import Plain

# Built once: every version write runs it.
_TAKE_NEXT = Plain(
    update(ChangeCounter)
    .where(ChangeCounter.id == 1)
    .values(value=ChangeCounter.value + 1)
    .returning(ChangeCounter.value)
)
_INSERT_VERSION = Plain(insert(HouseholdVersion.__table__))


@dataclass(frozen=True)
class Written:
    """A version just written: its number and what it changed (``{"path", "old", "new"}``)."""

    version: int
    changes: list[dict]


def next_change_seq() -> int:
    """Take the next change sequence number inside the current transaction.

    The counter row stays locked until commit, so sequence numbers become visible in
    commit order: a phone holding cursor N can never later miss a change numbered below N
    (a plain autoincrement id on PostgreSQL can commit out of order). Take it once
    everything has been read and decided: what is left before the commit is writing, so
    the lock (the one every write shares on PostgreSQL) is held for the writes only.
    """
    # On the connection, not through the session: no autoflush here. The caller's row
    # changes are flushed at its commit.
    result = _TAKE_NEXT.scalar()
    if result is None:
        db.session.add(ChangeCounter(id=1, value=1))
        db.session.flush()
        return 1
    return result


def record_version(
    household: Household,
    *,
    before: dict | None,
    cause: str,
    actor: User | None = None,
    actor_id: int | None = None,
    source_ref: str | None = None,
    note: str | None = None,
    prev_village_id: int | None = None,
    after: dict | None = None,
    changes: list[dict] | None = None,
) -> Written | None:
    """Write a new version if the record changed since `before`; return it (or None).

    `before` is the record as it was before this use case changed the rows (None for a new
    household). The actor is a user row or, when the caller holds only its id, `actor_id`.
    Bumps household.version and change_seq. The caller commits. `after` is the record the
    rows now hold when the caller has it (household_record.write_record); otherwise it is
    read from the household's objects. `changes` is diff(before, after) when the caller
    worked it out already (with `after`: a merge worked out before the lock, sync._foresee).
    """
    if after is None:
        after = to_record(household)
    if changes is None:
        changes = diff(before or {}, after)
    if before is not None and not changes:
        return None
    seq = next_change_seq()
    household.version = (household.version or 0) + 1
    household.change_seq = seq
    # One plain INSERT, sent now (the household row exists: a new one was flushed by
    # register_household): a version is history, never changed after, and nothing in the
    # transaction reads it back as an object.
    _INSERT_VERSION.execute(columns=True, params={
        "household_id": household.id,
        "version": household.version,
        "snapshot": after,
        "changes": changes,
        "cause": cause,
        "source_ref": source_ref,
        "actor_id": actor.id if actor else actor_id,
        "village_id": household.village_id,
        "prev_village_id": prev_village_id,
        "change_seq": seq,
        "created_at": utcnow(),
        "note": note,
    })
    return Written(household.version, changes)


SNAPSHOT_AT = select(HouseholdVersion.snapshot).where(
    HouseholdVersion.household_id == bindparam("household_id"),
    HouseholdVersion.version == bindparam("version"),
)


def snapshot_at(household_id: int, version: int | None) -> dict | None:
    """Return the household's record at a version, or None when it never had it (history
    never changes: one prebuilt statement, also inside a merge's SELECT as a subquery)."""
    if version is None:
        return None
    return db.session.connection().scalar(
        SNAPSHOT_AT, {"household_id": household_id, "version": version}
    )
