"""SQLite's WAL checkpoints, run after the writer's locks are let go.

In WAL mode a commit appends the pages it changed to the ``-wal`` file; a checkpoint copies
them back into the database file and syncs it, so that the WAL can start over. SQLite runs
one itself (``wal_autocheckpoint``: in the commit that takes the WAL past 1000 pages). A
merge commits inside Ruhu's writer lock (services/locks.py), so about every 30th merge
copied the last 30 merges' pages while every other process waited for that lock.

Ruhu's connections turn SQLite's own checkpoints off (server/__init__.py) and run one here
every CHECKPOINT_EVERY commits of a process, once the committing session has let its locks
go. It is PASSIVE: it waits for nobody and nobody waits for it (writers go on appending,
and pages a reader still needs are left for the next one). A process that ends still
checkpoints as SQLite always does when its last connection to the file closes.
"""

import logging
import sqlite3
import threading

from flask import has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from . import locks

#: Commits of one process between two checkpoints: about SQLite's own 1000 pages of merges.
CHECKPOINT_EVERY = 32
_DUE = "ruhu_wal_checkpoint_due"

log = logging.getLogger(__name__)


class Checkpointer:
    """One process's checkpoints of one database file, on a connection of their own."""

    def __init__(self, path: str, every: int = CHECKPOINT_EVERY):
        self.path, self.every = path, every
        self.commits = 0
        self.runs = 0
        self._guard = threading.Lock()
        self._running = threading.Lock()

    def committed(self) -> bool:
        """Count a commit; tell whether a checkpoint is due after it."""
        with self._guard:
            self.commits += 1
            if self.commits < self.every:
                return False
            self.commits = 0
            return True

    def run(self) -> None:
        """Checkpoint what no reader still needs (skipped while another thread of the process
        is at it). A failure is logged: the commit before it stands, the next one tries again.
        """
        if not self._running.acquire(blocking=False):
            return
        try:
            # A connection of its own, opened for the checkpoint only (one every
            # CHECKPOINT_EVERY commits): nothing stays open for a database no longer used.
            connection = sqlite3.connect(self.path)
            try:
                connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            finally:
                connection.close()
            self.runs += 1
        except sqlite3.Error:
            log.warning("WAL checkpoint of %s failed; the next one tries again", self.path,
                        exc_info=True)
        finally:
            self._running.release()


_CHECKPOINTERS: dict[tuple[int, str], Checkpointer] = {}


def checkpointer() -> Checkpointer | None:
    """This process's checkpointer of the app's SQLite file (None on PostgreSQL, for a
    database that is not a file, or outside the app)."""
    if not has_app_context():
        return None
    path = locks.sqlite_file()
    if path is None:
        return None
    return locks.for_this_process(_CHECKPOINTERS, path, lambda: Checkpointer(path))


@event.listens_for(Session, "after_commit")
def _count_commit(session: Session) -> None:
    """Count the commit; mark the session if a checkpoint is due once it lets go."""
    found = checkpointer()
    if found is not None and found.committed():
        session.info[_DUE] = found


# Registered after locks' own listener (imported above), so it runs once the writer's
# mutex and lock file are handed on.
@event.listens_for(Session, "after_transaction_end")
def _checkpoint_if_due(session: Session, transaction: SessionTransaction) -> None:
    """Run a due checkpoint when the session's outermost transaction has ended."""
    if transaction.parent is None and not locks.holds_writer(session):
        due = session.info.pop(_DUE, None)
        if due is not None:
            due.run()
