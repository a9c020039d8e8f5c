"""Waitress as Ruhu runs it (server/http_server.py): its loop sleeps while a worker sends an
answer, and answers still arrive whole, slow readers and large answers included."""

import http.client
import socket
import threading
import time
from contextlib import contextmanager

import pytest
from waitress import wasyncore
from waitress.channel import HTTPChannel

from server import http_server


def small_app(environ, start_response):
    """A WSGI app answering a few bytes."""
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]


@contextmanager
def running(app, monkeypatch, channel_class=None):
    """Serve `app` on a free port in a thread; yield (port, the loop's rounds so far)."""
    rounds = [0]
    poll = wasyncore.poll

    def counted(*args, **kwargs):
        rounds[0] += 1
        return poll(*args, **kwargs)

    monkeypatch.setattr(wasyncore, "poll", counted)
    server = http_server.create(app, host="127.0.0.1", port=0, threads=2)
    if channel_class is not None:
        server.channel_class = channel_class
    loop = threading.Thread(target=server.run, daemon=True)
    loop.start()
    try:
        yield int(server.effective_port), rounds
    finally:
        http_server.stop(server)
        loop.join(timeout=10)


def _channel(server_socket_pair):
    """A SteadyChannel on one end of a socket pair, outside any loop (its server is real:
    the channel reports to it when it closes)."""
    ours, _theirs = server_socket_pair
    server = http_server.create(small_app, host="127.0.0.1", port=0, threads=1)
    try:
        return http_server.SteadyChannel(server, ours, ("127.0.0.1", 0), server.adj, map={})
    finally:
        server.close()


@pytest.fixture
def socket_pair():
    pair = socket.socketpair()
    yield pair
    for end in pair:
        end.close()


@contextmanager
def held_by_another_thread(lock):
    """Hold `lock` from another thread (the outbuf lock is reentrant) for the block."""
    taken, done = threading.Event(), threading.Event()

    def hold():
        with lock:
            taken.set()
            done.wait(10)

    worker = threading.Thread(target=hold)
    worker.start()
    taken.wait(10)
    try:
        yield
    finally:
        done.set()
        worker.join(10)


def test_a_connection_a_worker_is_sending_on_is_not_writable_to_the_loop(socket_pair):
    """Data waiting in a connection whose buffer a worker holds is the worker's to send:
    the loop is told there is nothing to write (waitress's own channel says there is)."""
    channel = _channel(socket_pair)
    channel.requests = [object()]  # a request being served
    channel.total_outbufs_len = 700  # its answer, written, not sent yet
    with held_by_another_thread(channel.outbuf_lock):
        assert not channel.writable()
        assert HTTPChannel.writable(channel)  # what made the loop spin
        channel.will_close = True  # closing must still go through the loop
        assert channel.writable()
        channel.will_close = False
    assert channel.writable()  # the lock is free: the loop sends what is left


def test_every_listening_socket_accepts_steady_connections():
    server = http_server.create(small_app, listen="127.0.0.1:0 127.0.0.1:0", threads=1)
    try:
        listeners = [d for d in server.map.values() if hasattr(d, "channel_class")]
        assert len(listeners) == 2
        assert all(d.channel_class is http_server.SteadyChannel for d in listeners)
    finally:
        for listener in listeners:
            listener.close()


def _slow_sender(base):
    """A channel class whose workers take 0.3 s in each send, holding the buffer's lock
    (as a worker waiting for the interpreter lock after its send does), while something
    else wakes the loop (another connection's request, as under load)."""

    class SlowSend(base):
        def _flush_some(self, do_close=True):
            if threading.current_thread().name.startswith("waitress-"):
                time.sleep(0.05)
                self.server.pull_trigger()
                time.sleep(0.25)
            return super()._flush_some(do_close=do_close)

    return SlowSend


@pytest.mark.parametrize("base, spins", [(HTTPChannel, True), (http_server.SteadyChannel, False)])
def test_the_loop_sleeps_while_a_worker_sends(monkeypatch, base, spins):
    """While a worker sends an answer the loop does not go round and round: a few rounds
    with SteadyChannel, thousands with waitress's own (which shows the test can fail)."""
    with running(small_app, monkeypatch, channel_class=_slow_sender(base)) as (port, rounds):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("GET", "/")  # connect and let the loop settle
        assert connection.getresponse().read() == b"ok"
        before = rounds[0]
        connection.request("GET", "/")
        response = connection.getresponse()
        assert (response.status, response.read()) == (200, b"ok")
        during = rounds[0] - before
        connection.close()
    if spins:
        assert during > 500
    else:
        assert during < 20


def big_app(environ, start_response):
    """Answer 4 MB in 64 chunks of 64 KB, each chunk filled with its own number."""
    chunks = [bytes([n]) * 65536 for n in range(64)]
    start_response("200 OK", [("Content-Type", "application/octet-stream"),
                              ("Content-Length", str(64 * 65536))])
    return iter(chunks)


def test_a_large_answer_to_a_slow_reader_arrives_whole_and_in_time(monkeypatch):
    """A client reading slowly through a small receive buffer fills the socket, so workers'
    sends come up short and the rest is the loop's to send: all 4 MB arrive, in order, and
    the reader is never left waiting on data stuck in the buffer (the loop's idle timeout
    is 1 s; no read may wait that long)."""
    with running(big_app, monkeypatch) as (port, _):
        client = socket.socket()
        client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        client.connect(("127.0.0.1", port))
        client.sendall(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n")
        received, longest_wait = b"", 0.0
        client.settimeout(10)
        while True:
            started = time.monotonic()
            data = client.recv(16384)
            longest_wait = max(longest_wait, time.monotonic() - started)
            if not data:
                break
            received += data
            head, _, body = received.partition(b"\r\n\r\n")
            if body and len(body) >= 64 * 65536:
                break
            time.sleep(0.0005)
        client.close()
    assert head.startswith(b"HTTP/1.1 200")
    assert body == b"".join(bytes([n]) * 65536 for n in range(64))
    assert longest_wait < 0.9


def test_keep_alive_requests_on_one_connection_all_answered(monkeypatch):
    with running(small_app, monkeypatch) as (port, _):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        for _ in range(200):
            connection.request("GET", "/")
            assert connection.getresponse().read() == b"ok"
        connection.close()
