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
    # Expired when the request ends instead (server/__init__.py, _forget_kept_rows).
    session.info[KEPT] = True


KEPT = "ruhu_kept_after_commit"
