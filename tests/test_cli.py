"""The `ruhu` command: user management, demo, and serving the demo over real HTTP."""

import os
import subprocess
from pathlib import Path

import pytest

from server.services.auth import authenticate
from tests.serve_helpers import RUHU, free_port, http_json, wait_until_listening


def test_user_add_disable_passwd(runner, app):
    """Accounts are added, get a new password, and are disabled from the command line."""
    result = runner.invoke(
        args=[
            "user",
            "add",
            "inv9",
            "--role",
            "investigator",
            "--region",
            "230229100",
            "--password",
            "long-enough-1",
        ]
    )
    assert result.exit_code == 0, result.output
    assert authenticate("inv9", "long-enough-1", "127.0.0.1").role == "investigator"
    result = runner.invoke(args=["user", "passwd", "inv9", "--password", "another-pass-2"])
    assert result.exit_code == 0
    assert authenticate("inv9", "another-pass-2", "127.0.0.1")
    assert runner.invoke(args=["user", "disable", "inv9"]).exit_code == 0
    from server.services.errors import Unauthorized

    with pytest.raises(Unauthorized):
        authenticate("inv9", "another-pass-2", "127.0.0.1")


@pytest.mark.parametrize(
    "args,message",
    [
        (
            [
                "user",
                "add",
                "inv1",
                "--role",
                "investigator",
                "--region",
                "230229100",
                "--password",
                "long-enough-1",
            ],
            "username taken",
        ),
        (
            [
                "user",
                "add",
                "x1",
                "--role",
                "investigator",
                "--region",
                "000",
                "--password",
                "long-enough-1",
            ],
            "unknown region",
        ),
        (
            [
                "user",
                "add",
                "x2",
                "--role",
                "investigator",
                "--region",
                "230229",
                "--password",
                "long-enough-1",
            ],
            "township or village",
        ),
        (
            [
                "user",
                "add",
                "x3",
                "--role",
                "supervisor",
                "--region",
                "230229",
                "--password",
                "short",
            ],
            "too short",
        ),
        (["user", "disable", "ghost"], "no such user"),
    ],
)
def test_user_commands_refuse_bad_input(runner, app, args, message):
    """Bad input gives a readable message and a non-zero exit."""
    result = runner.invoke(args=args)
    assert result.exit_code == 1
    assert message in result.output


def test_demo_served_over_http_lets_inv1_download_their_township(tmp_path):
    """`ruhu demo` then `ruhu serve`: inv1 signs in over HTTP and downloads township 1 only."""
    env = {**os.environ, "RUHU_DATA_DIR": str(tmp_path / "data")}
    env.pop("RUHU_DATABASE_URL", None)
    cwd = Path(__file__).resolve().parent.parent
    demo = subprocess.run(
        [*RUHU, "demo", "--households", "30", "--password", "pass-for-test"],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert demo.returncode == 0, demo.stderr
    assert "inv1" in demo.stdout and "sup1" in demo.stdout
    port = free_port()
    server = subprocess.Popen(
        [*RUHU, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_listening(port)
        status, login = http_json(
            "POST", f"{base}/api/v1/auth/login", {"username": "inv1", "password": "pass-for-test"}
        )
        assert status == 200
        status, page = http_json("GET", f"{base}/api/v1/households?limit=500", token=login["token"])
        assert status == 200 and not page["more"]
        townships = {h["township_name"] for h in page["households"]}
        assert townships == {"克山镇"}
        assert len(page["households"]) == 15  # 30 households over 6 villages, 3 in township 1
    finally:
        server.terminate()
        server.wait(timeout=10)
        server.stdout.close()


def test_serve_keeps_the_start_up_heap_out_of_full_collections():
    """`ruhu serve` freezes what the process holds at start (settle_heap), so a full garbage
    collection walks only what requests made; unfrozen again afterwards for the other tests."""
    import gc

    from server.cli import settle_heap

    assert gc.get_freeze_count() == 0
    try:
        settle_heap()
        assert gc.get_freeze_count() > 10_000  # the app's modules, mappers and objects
    finally:
        gc.unfreeze()


def _threads_cores(pid: int) -> set[frozenset[int]]:
    """Return the set of cores each thread of a process may run on."""
    return {frozenset(os.sched_getaffinity(int(tid))) for tid in os.listdir(f"/proc/{pid}/task")}


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2,
                    reason="pinning needs Linux and two cores")
def test_serve_on_one_core_pins_every_thread(tmp_path):
    """`ruhu serve --cpu N` runs the process on core N only, waitress's threads too (they are
    started after the pinning); without --cpu it keeps every core it was given."""
    env = {**os.environ, "RUHU_DATA_DIR": str(tmp_path / "data")}
    env.pop("RUHU_DATABASE_URL", None)
    cwd = Path(__file__).resolve().parent.parent
    core = max(os.sched_getaffinity(0))
    servers = []
    try:
        for cpu in (["--cpu", str(core)], []):
            port = free_port()
            server = subprocess.Popen(
                [*RUHU, "serve", "--host", "127.0.0.1", "--port", str(port), *cpu],
                env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            )
            servers.append(server)
            wait_until_listening(port)
        pinned, free = servers
        assert len(os.listdir(f"/proc/{pinned.pid}/task")) > 8  # waitress's workers are up
        assert _threads_cores(pinned.pid) == {frozenset({core})}
        assert _threads_cores(free.pid) == {frozenset(os.sched_getaffinity(0))}
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=10)
            server.stdout.close()


def test_serve_on_a_core_it_may_not_use_is_refused_clearly(runner, monkeypatch):
    """A core the machine does not have is a usage error naming --cpu, not a traceback,
    and nothing is served."""
    from server import http_server

    served = []
    monkeypatch.setattr(http_server, "serve", lambda *args, **kwargs: served.append(kwargs))
    result = runner.invoke(args=["serve", "--cpu", "4096"])
    assert result.exit_code == 2
    assert "--cpu" in result.output and "core 4096" in result.output
    assert served == []
