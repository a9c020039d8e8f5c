"""The rows a merge writes at its end, as plain statements: the new submission with its
photos and conflicts, and the locked household's row.

Through the ORM, a merge ended in one flush of the unit of work (the submission's INSERT
and the household's UPDATE): its own Python was the largest single share of a merge's CPU
(bench/README.md, merge pass 7), for two statements whose shape never changes. Here the
same rows go out as Core statements built from the models' tables (the models stay the
schema of record), and the objects are left as the flush would leave them: defaults filled
in, ids set, nothing pending. The outcome is answered from them, as before.

Only a submission the session does not hold is written here; a stored submission (a held
link being released) and a new one that joined the session (its chain's held links are
released in the same transaction and must find it) are written by the session as before.
"""

import functools

from sqlalchemy import bindparam, insert, inspect, update
from sqlalchemy.orm.attributes import instance_dict, set_committed_value

from ..extensions import db
from ..models import Conflict, Household, Submission, SubmissionMedia
from .plain_sql import Plain, column_default

_HOUSEHOLD = Household.__table__
_UPDATE_HOUSEHOLD = Plain(update(_HOUSEHOLD).where(_HOUSEHOLD.c.id == bindparam("row_id")))
_INSERT_SUBMISSION = Plain(insert(Submission.__table__).returning(Submission.__table__.c.id))
_INSERT_MEDIA = Plain(insert(SubmissionMedia.__table__))
# Columns set again on every UPDATE (updated_at): (key, function of nothing).
_ON_UPDATE = tuple(
    (column.key, column_default(column, on_update=True))
    for column in _HOUSEHOLD.columns if column.onupdate is not None
)
_INSERT_CONFLICTS = insert(Conflict.__table__).returning(
    Conflict.__table__.c.id, sort_by_parameter_order=True
)


def is_new(submission: Submission) -> bool:
    """Tell whether a submission is one the session does not hold (insert_submission
    writes it)."""
    return inspect(submission).transient


@functools.cache
def _columns(model) -> tuple:
    """Return (attribute, default) for each column the ORM would fill in on INSERT: the
    default is a function of nothing, or None for a column without one (the key is
    autoincremented by the database)."""
    return tuple(
        (column.key, column_default(column)) for column in model.__table__.columns
        if not (column.primary_key and column.autoincrement in (True, "auto"))
    )


def _row(item) -> dict:
    """Return an unsaved object's column values, its columns' defaults set on it first
    (as a flush sets them)."""
    held = instance_dict(item)
    values = {}
    for key, default in _columns(type(item)):
        if key not in held and default is not None:
            setattr(item, key, default())
        values[key] = held.get(key)
    return values


def insert_submission(submission: Submission) -> None:
    """Write a new submission (not in the session), its media slots and its conflicts."""
    submission.id = _INSERT_SUBMISSION.scalar(_row(submission), columns=True)
    for item in (*submission.media, *submission.conflicts):
        item.submission_id = submission.id
    if submission.media:
        _INSERT_MEDIA.executemany([_row(item) for item in submission.media])
    if submission.conflicts:
        ids = db.session.connection().execute(
            _INSERT_CONFLICTS, [_row(item) for item in submission.conflicts]
        ).scalars()
        for conflict, conflict_id in zip(submission.conflicts, ids, strict=True):
            conflict.id = conflict_id


def write_household(household: Household) -> None:
    """Write the changed columns of the locked household's row (its version, change number
    and the fields the merge set) with one UPDATE, and mark the object written."""
    state = inspect(household)
    changed = {key: state.dict[key] for key in state.committed_state if key in _HOUSEHOLD.c}
    if not changed:
        return
    # The columns' onupdate values (updated_at), set as the ORM sets them, kept on the object.
    for key, value in _ON_UPDATE:
        if key not in changed:
            changed[key] = value()
            set_committed_value(household, key, changed[key])
    _UPDATE_HOUSEHOLD.execute({"row_id": household.id, **changed}, columns=True)
    # Then what a flush does last for each row it wrote (no public API does it alone): the
    # object holds nothing unwritten, so the commit's flush has nothing to look at.
    # set_committed_value alone would leave it marked modified, and a commit then runs the
    # whole unit of work to find nothing to write.
    state._commit_all(state.dict, db.session().identity_map)
