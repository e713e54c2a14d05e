"""The HTTP worker of `rulecraft serve`: gunicorn's gthread, except that a connection gets a thread only once the
head of its request (request line and headers) has arrived whole.

Why: gthread hands every accepted connection to a thread that then reads the head with blocking reads. 32 sockets
sending their headers a byte at a time held all 8 threads (2 workers x 4), and normal requests timed out behind
them. Here the worker's event loop reads heads without blocking, for every connection at once, and drops a head
that has not ended HEAD_TIMEOUT seconds after the connection was accepted (or, on a kept-alive connection, after
its next request began). Bodies are still read by the thread: a production deployment puts a buffering reverse
proxy in front (docs/operations.md), which also bounds the number of connections.
"""
from __future__ import annotations

import contextlib
import errno
import selectors
import time
from collections import deque
from functools import partial

from gunicorn.workers.gthread import TConn, ThreadWorker

HEAD_TIMEOUT = 10.0          # seconds for a request line and headers to arrive
MAX_HEAD_BYTES = 64 * 1024   # past this the parser takes over, and refuses (100 fields of at most 8,190 bytes)
_HEAD_ENDS = (b"\r\n\r\n", b"\n\n")


class HeadFirstWorker(ThreadWorker):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.reading_heads: deque[TConn] = deque()  # oldest first: their deadlines are in the same order

    def accept(self, listener):
        try:
            sock, address = listener.accept()
        except OSError as e:
            if e.errno in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                return
            raise
        self.nr_conns += 1
        self._read_head(TConn(self.cfg, sock, address, listener.getsockname()))  # TConn makes it non-blocking

    def on_client_socket_readable(self, conn, client):
        """A kept-alive connection's next request has begun: read its head here too."""
        self.poller.unregister(client)
        self.keepalived_conns.remove(conn)
        self._read_head(conn)

    def _read_head(self, conn: TConn) -> None:
        conn.head = bytearray()
        conn.timeout = time.monotonic() + HEAD_TIMEOUT
        self.reading_heads.append(conn)
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_head_bytes, conn))

    def _on_head_bytes(self, conn: TConn, sock) -> None:
        try:
            data = sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:  # the client went away
            self._stop_reading(conn)
            self.nr_conns -= 1
            conn.close()
            return
        conn.head += data
        if any(end in conn.head for end in _HEAD_ENDS) or len(conn.head) > MAX_HEAD_BYTES:
            self._stop_reading(conn)
            conn.data_ready = True  # no waiting for a first byte in the thread either
            self.enqueue_req(conn)

    def _stop_reading(self, conn: TConn) -> None:
        self.poller.unregister(conn.sock)
        self.reading_heads.remove(conn)

    def handle(self, conn):
        """In a thread: give the parser the head read so far, then serve the request as gthread does."""
        head = getattr(conn, "head", None)
        if head:
            conn.head = None
            conn.sock.setblocking(True)
            conn.init()
            conn.parser.unreader.unread(bytes(head))
        return super().handle(conn)

    def murder_pending(self):
        """Also drop the connections whose head did not arrive in time (called by gthread's loop every second)."""
        super().murder_pending()
        now = time.monotonic()
        while self.reading_heads and self.reading_heads[0].timeout <= now:
            conn = self.reading_heads.popleft()
            with contextlib.suppress(OSError, KeyError, ValueError):  # already closed by the client
                self.poller.unregister(conn.sock)
            self.nr_conns -= 1
            conn.close()
