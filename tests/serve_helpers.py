"""Helpers for the tests that run the real `ruhu` command and talk to it over HTTP."""

import json
import socket
import sys
import time
import urllib.error
import urllib.request

# The `ruhu` console script, run with this interpreter (installed or not).
RUHU = [sys.executable, "-c", "from server.cli import main; main()"]


def free_port() -> int:
    """Return a free TCP port on the loopback interface."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_listening(port: int) -> None:
    """Wait (up to 20 s) until a server accepts connections on the loopback port."""
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listens on port {port}")


def http_json(method: str, url: str, body: dict | None = None,
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
