"""Committing the current session's transaction."""

from ..extensions import db


def commit_keeping_loaded() -> None:
    """Commit without expiring what the session holds.

    For a use case that answers with the rows it has just written (or read) right after
    its commit: expired, each of them would be read again, one query per object. Use it
    only where no object the caller goes on to trust can have been changed by another
    transaction since it was loaded (it was written or locked in this one).
    """
    session = db.session()
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = True
    # Expired when the request ends instead (forget_kept_rows).
    session.info[_KEPT] = True


_KEPT = "ruhu_kept_after_commit"


def forget_kept_rows(_error: BaseException | None = None) -> None:
    """Expire, when the request ends, what a commit kept loaded for the answer (registered
    by create_app as a teardown): a session that outlives the request (a test's or a
    command's app context) must not take those rows for the database's later on."""
    if db.session.registry.has() and db.session().info.pop(_KEPT, False):
        db.session.expire_all()
