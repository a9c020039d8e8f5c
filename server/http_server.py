"""Waitress as Ruhu runs it: its options, and connections that do not keep its loop spinning.

`ruhu serve`, the browser tests' server and the bench all start waitress through `create`
(or `serve`), so what is measured and tested is what is deployed.

Waitress has one thread running the event loop (reading requests, sending what is left of
answers) and worker threads running the app. A worker writes its answer into the
connection's output buffer and sends it itself, holding the buffer's lock while it does;
the send is a system call, and the worker then has to get the interpreter lock back
before it lets the buffer go. All that time waitress's loop sees a connection with data
to send (`writable()`), finds the socket ready, fails to take the buffer's lock, and goes
round again at once: nothing it can do, but the loop never sleeps. On a core shared with
the workers (one process per core, docs/deploy.md) it spins until the scheduler stops it,
taking the interpreter lock back and forth with the very worker it waits for. Measured
under the merge bench: about 150 loop rounds per merged submission, and over a quarter of
the process's CPU in the loop thread; with `SteadyChannel`, 2 rounds (bench/README.md,
"Merge pass 12").

`SteadyChannel` tells the loop a connection has nothing to send while a worker holds its
buffer: that worker is sending the data itself. When the socket takes only part of it (a
slow client, a large answer), the worker sends more with each write, and when the request
ends it wakes the loop (waitress's trigger), with the lock free, to send what is left. A
worker waiting for the loop to drain a full buffer waits on the lock's condition, which
frees the lock, so the loop sees the data then. tests/test_http_server.py holds both: the
loop's rounds while a worker sends, and a large answer to a slow reader arriving whole.
"""

import logging

from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer, create_server

#: How Ruhu sets up waitress beyond address and threads.
OPTIONS = {"max_request_body_size": 64 * 1024 * 1024, "ident": "ruhu"}


class SteadyChannel(HTTPChannel):
    """A waitress connection that is not `writable()` while a worker holds its output
    buffer (the worker is sending it), so the event loop sleeps instead of spinning."""

    def writable(self):
        if (self.requests and self.total_outbufs_len
                and not (self.will_close or self.close_when_flushed)):
            if not self.outbuf_lock.acquire(blocking=False):
                return False
            self.outbuf_lock.release()
        return super().writable()


def create(app, **adjustments):
    """Return a waitress server for `app` (Ruhu's options, then `adjustments`), every
    listening socket accepting connections as `SteadyChannel`s; `run()` serves."""
    listeners: dict = {}
    server = create_server(app, map=listeners, **{**OPTIONS, **adjustments})
    for dispatcher in listeners.values():
        if isinstance(dispatcher, BaseWSGIServer):
            dispatcher.channel_class = SteadyChannel
    return server


def stop(server) -> None:
    """Stop a server whose `run()` goes on in another thread: its own loop closes the
    listening sockets, every connection and its trigger (so the loop ends), then the
    workers finish what they are doing."""

    def close_all():
        for dispatcher in list(server._map.values()):
            dispatcher.handle_close()

    server.trigger.pull_trigger(close_all)
    server.task_dispatcher.shutdown()


def serve(app, **adjustments) -> None:
    """Serve `app` until the process is stopped (as waitress.serve does, with `create`)."""
    logging.basicConfig()  # waitress's own warnings are seen (no-op when logging is set up)
    server = create(app, **adjustments)
    server.print_listen("Serving on http://{}:{}")
    server.run()
