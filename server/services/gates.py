"""How many submissions one server process merges at the same time.

A merge is CPU-bound Python with a short stretch under the household's lock. With every
waitress thread merging at once, the threads share one interpreter lock: the thread that
holds the database write lock gets a slice of it only now and then (after each SQLite call
it waits its turn again behind the others), so the locked stretch, and with it every
merge behind it, grows with the number of threads. A small gate in front of the merge
keeps the rest of the threads waiting outside, at no cost, and hands each freed slot to the
thread that has waited longest, so latency stays even (first come, first merged).

The slot covers the whole of a submission's CPU work, not only the merge: the API takes it
before parsing the body and gives it back once the answer is built (api/submissions.py).
With only the merge inside it, the threads parsing and checking the next submissions ran
beside the slot's holder and took the interpreter lock from it while it held the
database's write lock (bench/README.md, merge pass 11). An identical retry waits for a
slot too: it is rare, and its answer is one lookup.

`RUHU_SUBMIT_CONCURRENCY` sets the slots (0: no gate); unset, the engine decides
(`DEFAULT_SLOTS`). On SQLite one: even two merges at once in one process cost about a fifth
more CPU each than one after the other (they take turns on the interpreter lock) and merge
no more per second, since SQLite writes one at a time anyway (bench/README.md, merge passes
4 and 11): to use more cores, run more processes (docs/deploy.md). On PostgreSQL two: a
merge there also waits for the database (its round trips and the commit), and a second
merge uses the process's core meanwhile; households are locked one by one, so the two
merge side by side (about 7% more merges a second, bench/README.md, merge pass 12). A
request that cannot get a slot within `RUHU_DB_LOCK_TIMEOUT` seconds is answered 503 with
Retry-After, as a busy database is.
"""

import threading
from collections import deque
from contextlib import contextmanager

from flask import current_app

from ..extensions import db
from .errors import busy

#: A process's merge slots when RUHU_SUBMIT_CONCURRENCY is not set, by database engine.
DEFAULT_SLOTS = {"sqlite": 1, "postgresql": 2}


class FairGate:
    """A counting semaphore that hands a freed slot to its longest waiter (no barging)."""

    def __init__(self, slots: int):
        self._free = slots
        self._waiters: deque[threading.Lock] = deque()
        self._guard = threading.Lock()

    def acquire(self, timeout: float) -> bool:
        """Take a slot, waiting up to `timeout` seconds; tell whether one was taken."""
        with self._guard:
            if self._free and not self._waiters:
                self._free -= 1
                return True
            waiter = threading.Lock()
            waiter.acquire()
            self._waiters.append(waiter)
        if waiter.acquire(timeout=timeout):
            return True
        with self._guard:
            try:
                self._waiters.remove(waiter)
            except ValueError:
                return True  # the slot was handed over just as the wait ended
            return False

    def release(self) -> None:
        """Give the slot back: to the longest waiter if there is one."""
        with self._guard:
            if self._waiters:
                self._waiters.popleft().release()
            else:
                self._free += 1


_GATES: dict[int, FairGate] = {}
_GATES_GUARD = threading.Lock()


def slot_count() -> int:
    """Return this app's merge slots a process: RUHU_SUBMIT_CONCURRENCY, else its engine's
    default (0: no gate)."""
    configured = current_app.config["SUBMIT_CONCURRENCY"]
    if configured is not None:
        return configured
    return DEFAULT_SLOTS.get(db.engine.dialect.name, 1)


@contextmanager
def submission_slot():
    """Hold one of this process's merge slots for the duration of the block."""
    slots = slot_count()
    if slots <= 0:
        yield
        return
    with _GATES_GUARD:
        gate = _GATES.get(slots) or _GATES.setdefault(slots, FairGate(slots))
    if not gate.acquire(timeout=current_app.config["DB_LOCK_TIMEOUT_SECONDS"]):
        raise busy()
    try:
        yield
    finally:
        gate.release()
