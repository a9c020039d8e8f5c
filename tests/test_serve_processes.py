"""Several `ruhu serve` processes on one SQLite file, as docs/deploy.md advises (one per
core): submissions racing for one household through different processes lose no update.

Inside one process, writers queue on a mutex before SQLite's write lock; between processes
only `BEGIN IMMEDIATE` and SQLite's busy timeout keep them apart. This runs the real
command twice and sends every submission at the same instant, half to each process.
"""

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.sync_helpers import survey

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
RUHU = [sys.executable, "-c", "from server.cli import main; main()"]
PASSWORD = "pass-for-test"
RACERS = 16


def _free_port() -> int:
    """Return a free TCP port on the loopback interface."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _http(method: str, url: str, body: dict | None = None,
          token: str | None = None) -> tuple[int, dict]:
    """Make an HTTP request; return (status, JSON body), error statuses included."""
    request = urllib.request.Request(
        url, method=method, data=json.dumps(body).encode() if body else None,
        headers={"Content-Type": "application/json",
                 **({"Authorization": f"Bearer {token}"} if token else {})})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def _wait_until_listening(port: int) -> None:
    """Wait (up to 20 s) until a server accepts connections on the port."""
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listens on {port}")


@pytest.fixture
def two_servers(tmp_path):
    """The demo county in one SQLite file, served by two `ruhu serve` processes."""
    env = {**os.environ, "RUHU_DATA_DIR": str(tmp_path / "data")}
    env.pop("RUHU_DATABASE_URL", None)
    demo = subprocess.run([*RUHU, "demo", "--households", "12", "--password", PASSWORD],
                          env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert demo.returncode == 0, demo.stderr
    ports = [_free_port(), _free_port()]
    servers = [subprocess.Popen([*RUHU, "serve", "--host", "127.0.0.1", "--port", str(port)],
                                env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL) for port in ports]
    try:
        for port in ports:
            _wait_until_listening(port)
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
    status, login = _http("POST", f"{first}/api/v1/auth/login",
                          {"username": "inv1", "password": PASSWORD})
    assert status == 200
    token, me = login["token"], login["user"]["id"]
    status, page = _http("GET", f"{second}/api/v1/households?limit=500", token=token)
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
        results[index] = _http("POST", f"{base}/api/v1/submissions", bodies[index], token)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert all(status == 201 and not body["conflicts"] for status, body in results), results
    assert sorted(body["household_version"] for _, body in results) == list(
        range(start.version + 1, start.version + RACERS + 1))
    status, after = _http("GET", f"{first}/api/v1/households/{start.id}", token=token)
    assert status == 200
    assert after["version"] == start.version + RACERS
    assert {f"racer-{n}" for n in range(RACERS)} <= {m["id"] for m in after["members"]}
    status, history = _http("GET", f"{second}/api/v1/households/{start.id}/history",
                            token=token)
    assert status == 200 and history["open_conflicts"] == 0
    new = [v for v in history["versions"] if v["version"] > start.version]
    assert sorted(v["version"] for v in new) == list(
        range(start.version + 1, start.version + RACERS + 1))
    assert {v["source_ref"] for v in new} == {body["instance_id"] for body in bodies}
