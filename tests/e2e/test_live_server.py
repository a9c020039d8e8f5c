"""The server the browser tests run against, at the level of its sockets: a photo download the
client drops half-way (the console's viewer moving to the next photo does this) leaves no file
open on the server. Found as an "unclosed file" warning failing a browser test at random."""

import gc
import http.client
import io
import os
import socket
import struct
import sys
import time

import pytest
from PIL import Image

from tests.conftest import TOWNSHIP_1, ApiFactory, Demo
from tests.console_data import Scenario

pytestmark = pytest.mark.e2e


def big_photo() -> bytes:
    """Return a JPEG of noise, larger than the socket buffers between server and client."""
    image = Image.frombytes("RGB", (2400, 1800), os.urandom(2400 * 1800 * 3))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=95)
    return buffer.getvalue()


def holds_open(digest: str) -> bool:
    """Tell whether this process (the server runs in it) holds a stored file of a photo open."""
    for fd in os.listdir("/proc/self/fd"):
        try:
            if digest in os.readlink(f"/proc/self/fd/{fd}"):
                return True
        except OSError:  # closed meanwhile
            continue
    return False


@pytest.mark.parametrize("size", ["320", "full"])
def test_dropped_download_closes_the_file(live_server, monkeypatch, size):
    """The client resets the connection once it has a whole thumbnail, and in the middle of an
    original of several megabytes: the server closes the stored file either way, and no
    "unclosed file" warning is raised."""
    data = big_photo()
    assert len(data) > 4_000_000

    def store():
        demo = Demo()
        scenario = Scenario(ApiFactory(live_server.app.test_client()), demo)
        household = demo.households_in(TOWNSHIP_1)[0]
        scenario.record_edit("inv1", household, {"phone": "13900000001"},
                             photos=[(data, "housing_exterior", None, None)])
        return scenario.media_entry(data, "housing_exterior")["sha256"]

    digest = live_server.query(store)
    assert not holds_open(digest)
    token = live_server.login("inv1")["Authorization"]
    unraisable = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)

    host, port = live_server.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    connection.request("GET", f"/api/v1/media/{digest}?size={size}",
                       headers={"Authorization": token})
    sock = connection.sock  # closing it sends a reset, as a browser cancelling a load does
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    response = connection.getresponse()
    assert response.status == 200
    if size == "320":  # the whole thumbnail: the server has sent it all, and waits for more
        assert response.read()[:2] == b"\xff\xd8"
    else:
        assert len(response.read(65536)) == 65536
    response.close()
    connection.close()
    sock.close()

    deadline = time.monotonic() + 10
    while holds_open(digest) and time.monotonic() < deadline:
        time.sleep(0.05)
    gc.collect()
    assert not holds_open(digest)
    assert [str(u.exc_value) for u in unraisable] == []
