"""Serialising writes to one household: the lock is taken before the household is read.

Every use case that changes a household's record, its submissions or its conflicts starts
with `begin_household_write`, so two of them never interleave (no lost update). (A lone
re-visit works its merge out before the lock, but uses it only if the household read under
the lock is still at the version it was worked out on: sync._foresee, sync._still_valid.)

* PostgreSQL: ``SELECT ... FOR UPDATE`` on the household row. A submission that creates a
  household has no row yet, so it locks the ``sync_lock`` row named ``household:new``
  instead. Order is always: that row, the household, other existing rows (held links),
  and the change counter last of the locks (versions.next_change_seq), so no two
  transactions wait on each other in a cycle. What is written after the counter is new
  rows and the rows already locked.
* SQLite: ``BEGIN IMMEDIATE`` takes the database's write lock at the start. A deferred
  transaction that reads and then writes could read a snapshot another writer already
  replaced and then fail with SQLITE_BUSY instead of waiting. Threads of one process
  first queue on a process-wide mutex: SQLite's busy handler waits by sleeping and
  retrying (up to 100 ms a try), so writers polling for the lock leave it idle most of
  the time and the unlucky ones starve; a queue hands it over at once. Processes sharing
  the file (one `ruhu serve` per core) then take a lock file next to the database
  (``<database>.writer-lock``, an exclusive ``flock``), which they poll every half millisecond:
  SQLite's own handler sleeps longer after each miss (1, 2, 5, 10, 15, 20 ... ms), so a process kept
  missing the other's short locked stretches sat idle. Both are released when the
  transaction ends, however it ends (commit, rollback, close); a lock file not got within
  `RUHU_DB_LOCK_TIMEOUT` seconds is a 503, as a busy database is. The file only orders
  Ruhu's own writers: SQLite's lock stays the guard, so a writer that does not take it
  (another tool on the file) is still waited for.
"""

import fcntl
import os
import threading
import time

from flask import current_app
from sqlalchemy import bindparam, event, select
from sqlalchemy.orm import Session, SessionTransaction

from ..extensions import db
from ..models import Household, SyncLock
from .errors import busy
from .household_record import FULL_RECORD

NEW_HOUSEHOLD = "household:new"
# One SQLite writer at a time per process (see the module docstring).
_SQLITE_WRITER = threading.Lock()
_HOLDS_WRITER = "ruhu_sqlite_writer"
# Across processes: the lock file this session holds, released with the mutex.
_HOLDS_FILE = "ruhu_sqlite_writer_file"
# How often a writer waiting for another process looks at the lock file again (seconds).
_POLL_SECONDS = 0.0005


class WriterFile:
    """The exclusive lock (``flock``) on the file next to the database, kept open.

    The `filelock` package did the same with more work on every merge (opening the file,
    resolving its path, its own bookkeeping: about 4% of a merge's CPU, bench/README.md,
    merge pass 7); here the file is opened once and a free lock is one system call. Only
    the thread holding the process's writer mutex uses it.
    """

    def __init__(self, path: str):
        self.path = path
        self._fd: int | None = None

    def acquire(self, timeout: float) -> bool:
        """Take the lock, looking again every _POLL_SECONDS; tell whether it came in time."""
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    return False
                time.sleep(_POLL_SECONDS)

    def release(self) -> None:
        """Let the lock go (the file stays, and stays open)."""
        fcntl.flock(self._fd, fcntl.LOCK_UN)


# One WriterFile per (process, database file): a forked process opens its own (a lock
# taken through an inherited descriptor would be the parent's too).
_FILE_LOCKS: dict[tuple[int, str], WriterFile] = {}


# Built once: every write to a household runs one. The household row alone is for a use case
# that reads its collections as plain rows (household_record.read_record: the merge).
_LOCK_HOUSEHOLD_ROW = (
    select(Household)
    .where(Household.id == bindparam("household_id"))
    .with_for_update()
    .execution_options(populate_existing=True)
)
_LOCK_HOUSEHOLD = _LOCK_HOUSEHOLD_ROW.options(*FULL_RECORD)


def is_sqlite() -> bool:
    """Tell whether the app runs on SQLite."""
    return db.engine.dialect.name == "sqlite"


def begin_household_write(household_id: int | None, *, collections: bool = True,
                          after_reads: bool = False) -> Household | None:
    """End any open transaction, lock the household (or the new-household row), return it.

    The household comes back freshly read with its whole record (only its row when
    `collections` is false), or None when `household_id` is None or no such household
    exists.

    `after_reads`: the caller's transaction so far has only read (it wrote nothing, and
    asks nothing to be committed). The lock is then taken in it rather than after a
    commit: a commit, a connection handed back to the pool and taken out again (on
    PostgreSQL a round trip and the pool's ping) less per merge. Both engines read the
    newest committed rows in it once locked (PostgreSQL reads committed, statement by
    statement; on SQLite a read outside a write opens no transaction, so BEGIN IMMEDIATE
    starts one on the newest state), and whatever the session loaded before the lock is
    expired, so it is read again under the lock, as after a commit.
    """
    if after_reads:
        db.session.expire_all()
    else:
        db.session.commit()
    if is_sqlite():
        session = db.session()
        # The session's transaction exists before the mutex is taken, so that however the
        # next statement ends, the end of that transaction hands the mutex on.
        connection = session.connection()
        if not session.info.get(_HOLDS_WRITER):
            _SQLITE_WRITER.acquire()
            session.info[_HOLDS_WRITER] = True
            _take_writer_file(session)
        # pysqlite (legacy transaction control) only opens a transaction before DML, so an
        # explicit BEGIN IMMEDIATE is passed through and the session's commit ends it.
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    elif household_id is None:
        db.session.execute(
            select(SyncLock.name).where(SyncLock.name == NEW_HOUSEHOLD).with_for_update()
        )
    if household_id is None:
        return None
    return lock_household(household_id, collections=collections)


def lock_household(household_id: int, *, collections: bool = True) -> Household | None:
    """Lock and read one more household inside the current write transaction (with its
    collections loaded, unless `collections` is false)."""
    statement = _LOCK_HOUSEHOLD if collections else _LOCK_HOUSEHOLD_ROW
    return db.session.scalar(statement, {"household_id": household_id})


def sqlite_file() -> str | None:
    """The path of the app's SQLite database file (None on PostgreSQL, or for a database
    that is not a plain file: in memory, or a URI)."""
    engine = db.engine
    path = engine.url.database
    if engine.dialect.name != "sqlite" or not path or path == ":memory:" or \
            path.startswith("file:"):
        return None
    return path


def writer_file_lock() -> WriterFile | None:
    """The lock file this process's SQLite writers take across processes (None for a
    database that is not a file: nothing else can open it)."""
    path = sqlite_file()
    if path is None:
        return None
    return for_this_process(_FILE_LOCKS, path, lambda: WriterFile(f"{path}.writer-lock"))


def for_this_process(kept: dict, path: str, make):
    """Return `kept`'s object for (this process, the file at `path`), made by `make()` on
    first use: a forked process makes its own (a descriptor or lock it inherited would be
    its parent's too)."""
    key = (os.getpid(), path)
    found = kept.get(key)
    if found is None:
        found = kept.setdefault(key, make())
    return found


def holds_writer(session: Session) -> bool:
    """Tell whether a session holds this process's SQLite writer mutex (and the lock file)."""
    return bool(session.info.get(_HOLDS_WRITER))


def _take_writer_file(session: Session) -> None:
    """Take the lock file within the lock timeout, or answer 503 (the mutex is handed on
    when the request's transaction ends)."""
    lock = writer_file_lock()
    if lock is None:
        return
    if not lock.acquire(timeout=current_app.config["DB_LOCK_TIMEOUT_SECONDS"]):
        raise busy()
    session.info[_HOLDS_FILE] = lock


@event.listens_for(Session, "after_transaction_end")
def _release_sqlite_writer(session: Session, transaction: SessionTransaction) -> None:
    """Hand the SQLite writer locks on when the session's outermost transaction ends."""
    if transaction.parent is None and session.info.pop(_HOLDS_WRITER, False):
        held = session.info.pop(_HOLDS_FILE, None)
        try:
            if held is not None:
                held.release()
        finally:
            _SQLITE_WRITER.release()
