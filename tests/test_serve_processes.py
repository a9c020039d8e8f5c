"""Several `ruhu serve` processes on one SQLite file, as docs/deploy.md advises (one per
core): submissions racing for one household through different processes lose no update.

Inside one process, writers queue on a mutex before SQLite's write lock; between processes
only `BEGIN IMMEDIATE` and SQLite's busy timeout keep them apart. This runs the real
command twice and sends every submission at the same instant, half to each process.
"""

import os
import subprocess
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.serve_helpers import RUHU, free_port, http_json, wait_until_listening
from tests.sync_helpers import survey

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "pass-for-test"
RACERS = 16


@pytest.fixture
def two_servers(tmp_path):
    """The demo county in one SQLite file, served by two `ruhu serve` processes."""
    env = {**os.environ, "RUHU_DATA_DIR": str(tmp_path / "data")}
    # The deployed defaults, whatever the shell running the tests has set.
    for name in ("RUHU_DATABASE_URL", "RUHU_SUBMIT_CONCURRENCY", "RUHU_DB_LOCK_TIMEOUT"):
        env.pop(name, None)
    demo = subprocess.run([*RUHU, "demo", "--households", "12", "--password", PASSWORD],
                          env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert demo.returncode == 0, demo.stderr
    ports = [free_port()]
    while len(ports) < 2:
        port = free_port()
        if port not in ports:
            ports.append(port)
    servers = [subprocess.Popen([*RUHU, "serve", "--host", "127.0.0.1", "--port", str(port)],
                                env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL) for port in ports]
    try:
        for port in ports:
            wait_until_listening(port)
        # Both are up and listening on their own port (not one answering for both).
        assert all(server.poll() is None for server in servers)
        yield [f"http://127.0.0.1:{port}" for port in ports]
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(timeout=10)


def test_submissions_racing_through_two_processes_lose_no_update(two_servers):
    """Sixteen phones, same base, each adding its own member at the same instant, half
    through each process: all sixteen are merged, one version each, no conflict, and the
    household has every member."""
    first, second = two_servers
    status, login = http_json("POST", f"{first}/api/v1/auth/login",
                          {"username": "inv1", "password": PASSWORD})
    assert status == 200
    token, me = login["token"], login["user"]["id"]
    status, page = http_json("GET", f"{second}/api/v1/households?limit=500", token=token)
    assert status == 200
    target = page["households"][0]
    start = SimpleNamespace(id=target["id"], version=target["version"])
    bodies = [survey(start, {"members": [{"id": f"racer-{n}", "name": f"成员{n}"}]},
                     investigators=[me], device_id=f"phone-{n}") for n in range(RACERS)]
    barrier = threading.Barrier(RACERS)
    results: list = [None] * RACERS

    def send(index: int) -> None:
        base = two_servers[index % 2]
        barrier.wait()
        results[index] = http_json("POST", f"{base}/api/v1/submissions", bodies[index], token)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert all(status == 201 and not body["conflicts"] for status, body in results), results
    assert sorted(body["household_version"] for _, body in results) == list(
        range(start.version + 1, start.version + RACERS + 1))
    status, after = http_json("GET", f"{first}/api/v1/households/{start.id}", token=token)
    assert status == 200
    assert after["version"] == start.version + RACERS
    assert {f"racer-{n}" for n in range(RACERS)} <= {m["id"] for m in after["members"]}
    status, history = http_json("GET", f"{second}/api/v1/households/{start.id}/history",
                            token=token)
    assert status == 200 and history["open_conflicts"] == 0
    new = [v for v in history["versions"] if v["version"] > start.version]
    assert sorted(v["version"] for v in new) == list(
        range(start.version + 1, start.version + RACERS + 1))
    assert {v["source_ref"] for v in new} == {body["instance_id"] for body in bodies}
