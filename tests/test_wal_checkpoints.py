"""SQLite's WAL checkpoints run every CHECKPOINT_EVERY commits, after the writer's locks are
let go, instead of inside whichever commit takes the WAL past SQLite's mark."""

import fcntl
import os
import sqlite3

import pytest
from sqlalchemy import text

from server.extensions import db
from server.services import locks, wal_checkpoints
from tests.conftest import PG_URL, TOWNSHIP_1
from tests.sync_helpers import frozen, survey

pytestmark = pytest.mark.skipif(bool(PG_URL), reason="SQLite-only: its WAL file")

COMMITS = 200


def _wal_frames(path: str) -> int:
    """Return how many frames the WAL holds, read from a connection of the test's own."""
    connection = sqlite3.connect(path)
    try:
        # PASSIVE with nothing to do answers (busy, frames in the WAL, frames checkpointed).
        return connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1]
    finally:
        connection.close()


def _commit_many(n: int) -> None:
    for k in range(n):
        db.session.execute(text("UPDATE household SET address = :a WHERE id = "
                                "(SELECT min(id) FROM household)"), {"a": f"地址{k}"})
        db.session.commit()


def test_the_apps_connections_leave_checkpoints_to_ruhu(app):
    assert db.session.execute(text("PRAGMA wal_autocheckpoint")).scalar() == 0
    assert db.session.execute(text("PRAGMA journal_mode")).scalar() == "wal"


def test_the_wal_is_checkpointed_every_so_many_commits(app):
    """Two hundred commits leave at most about CHECKPOINT_EVERY commits' frames in the WAL
    (each commit writes at least one); without the checkpoints all two hundred stay."""
    checkpointer = wal_checkpoints.checkpointer()
    runs = checkpointer.runs
    _commit_many(COMMITS)
    assert checkpointer.runs - runs >= COMMITS // wal_checkpoints.CHECKPOINT_EVERY - 1
    frames = _wal_frames(db.engine.url.database)
    assert frames < COMMITS // 2


def test_without_them_the_wal_keeps_growing(app, monkeypatch):
    """The same commits with Ruhu's checkpoints skipped: every frame stays (what the test
    above rules out, shown to be possible here)."""
    monkeypatch.setattr(wal_checkpoints.Checkpointer, "run", lambda self: None)
    _commit_many(COMMITS)
    assert _wal_frames(db.engine.url.database) >= COMMITS


def test_a_checkpoint_runs_after_the_merge_let_its_locks_go(app, api, demo, monkeypatch):
    """A merge's commit is followed by the checkpoint only once the process's writer mutex
    and the lock file between processes are free again: another process can merge
    meanwhile."""
    checkpointer = wal_checkpoints.checkpointer()
    monkeypatch.setattr(checkpointer, "every", 1)
    seen = []
    run = wal_checkpoints.Checkpointer.run

    def watched(self) -> None:
        free = not locks._SQLITE_WRITER.locked()
        fd = os.open(f"{self.path}.writer-lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # raises if still held
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)
        seen.append(free)
        run(self)

    monkeypatch.setattr(wal_checkpoints.Checkpointer, "run", watched)
    target = frozen(demo.households_in(TOWNSHIP_1)[0])
    body = survey(target, {"address": "新兴村3组9号"}, investigators=[demo.user("inv1").id])
    response = api.as_user("inv1").post("/api/v1/submissions", json=body)
    assert response.status_code == 201, response.get_json()
    assert seen and all(seen)


def test_a_failed_checkpoint_leaves_the_commit_standing(app, monkeypatch, caplog):
    """A checkpoint that fails (here: the file cannot be opened) is logged; the commit
    before it stands and the next commits go on."""
    checkpointer = wal_checkpoints.checkpointer()
    monkeypatch.setattr(checkpointer, "every", 1)
    monkeypatch.setattr(checkpointer, "path", "/nonexistent/dir/ruhu.db")
    _commit_many(3)
    address = db.session.execute(text("SELECT address FROM household ORDER BY id LIMIT 1"))
    assert address.scalar() == "地址2"
    assert "WAL checkpoint" in caplog.text
