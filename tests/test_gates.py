"""The per-process gate in front of merges: first come first served, and a clear 503."""

import threading
import time

import pytest

from server.services import gates
from server.services.gates import FairGate
from tests.conftest import TOWNSHIP_1
from tests.sync_helpers import count_submissions, frozen, survey


def _wait_until(condition, seconds: float = 5.0) -> None:
    """Poll until condition() holds; fail the test (never hang) after `seconds`."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.001)


def test_a_freed_slot_goes_to_the_longest_waiter():
    gate = FairGate(1)
    assert gate.acquire(timeout=0)
    order, started = [], []

    def wait(name: str) -> None:
        started.append(name)
        assert gate.acquire(timeout=5)
        order.append(name)
        gate.release()

    threads = []
    for name in ("first", "second", "third"):
        thread = threading.Thread(target=wait, args=(name,))
        thread.start()
        threads.append(thread)
        _wait_until(lambda: len(started) == len(threads) == len(gate._waiters))
    gate.release()
    for thread in threads:
        thread.join(timeout=5)
    assert order == ["first", "second", "third"]


def test_a_release_hands_the_slot_over_instead_of_freeing_it():
    gate = FairGate(1)
    assert gate.acquire(timeout=0)
    got = []
    waiter = threading.Thread(target=lambda: got.append(gate.acquire(timeout=5)))
    waiter.start()
    _wait_until(lambda: bool(gate._waiters))
    gate.release()
    # The slot now belongs to the waiter, even before it runs: a newcomer cannot barge in.
    assert not gate.acquire(timeout=0)
    waiter.join(timeout=5)
    assert got == [True]
    gate.release()
    assert gate.acquire(timeout=0)


def test_a_wait_that_times_out_leaves_the_gate_consistent():
    gate = FairGate(2)
    assert gate.acquire(timeout=0) and gate.acquire(timeout=0)
    assert not gate.acquire(timeout=0.01)
    assert not gate._waiters
    gate.release()
    assert gate.acquire(timeout=0)


@pytest.fixture
def app_config():
    return {"SUBMIT_CONCURRENCY": 1, "DB_LOCK_TIMEOUT_SECONDS": 0.2}


def test_a_submission_that_finds_no_slot_is_503_and_saves_nothing(app, api, demo):
    target = frozen(demo.households_in(TOWNSHIP_1)[0])
    body = survey(target, {"address": "新兴村3组9号"},
                  investigators=[demo.user("inv1").id])
    inv1 = api.as_user("inv1")
    gate = gates._GATES.setdefault(1, FairGate(1))
    assert gate.acquire(timeout=1)  # another merge holds the only slot
    try:
        response = inv1.post("/api/v1/submissions", json=body)
    finally:
        gate.release()
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.get_json()["code"] == "unavailable"
    assert count_submissions(body["instance_id"]) == 0
    # The phone's retry goes through once the slot is free.
    assert inv1.post("/api/v1/submissions", json=body).status_code == 201
    assert count_submissions(body["instance_id"]) == 1


def test_unset_the_database_engine_decides_the_slots(app):
    """Without RUHU_SUBMIT_CONCURRENCY a process takes one submission at a time on SQLite
    (it writes one at a time anyway) and two on PostgreSQL (one merges while the other
    waits for the database); a set value wins, 0 included (no gate)."""
    from server.extensions import db

    with app.app_context():
        app.config["SUBMIT_CONCURRENCY"] = None
        assert gates.slot_count() == {"sqlite": 1, "postgresql": 2}[db.engine.dialect.name]
        for configured in (3, 1, 0):
            app.config["SUBMIT_CONCURRENCY"] = configured
            assert gates.slot_count() == configured


def test_the_setting_is_read_from_the_environment(monkeypatch):
    from server import config

    monkeypatch.delenv("RUHU_SUBMIT_CONCURRENCY", raising=False)
    assert config.from_environment(with_secret=False)["SUBMIT_CONCURRENCY"] is None
    monkeypatch.setenv("RUHU_SUBMIT_CONCURRENCY", "3")
    assert config.from_environment(with_secret=False)["SUBMIT_CONCURRENCY"] == 3
    monkeypatch.setenv("RUHU_SUBMIT_CONCURRENCY", "0")
    assert config.from_environment(with_secret=False)["SUBMIT_CONCURRENCY"] == 0
