"""HTTP/1.1 keep-alive for the sandbox's werkzeug server: one TLS handshake per client connection.

werkzeug's development server answers every request with "Connection: close" and then reads
whatever is left on the socket (so that a client that sent too much sees the answer, not a
reset). Over TLS that costs every AWS call a new TCP connection and a TLS handshake: about
13 ms of the learner's time per call, and lesson 06 makes a few hundred calls.

This handler keeps the connection open when that is safe, as HTTP/1.1 allows: the client did
not ask to close, its body had a Content-Length and the application read all of it. Anything
else (a body refused unread, chunked uploads, HTTP/1.0) is answered and closed as werkzeug does.
It relies on two things werkzeug does in `run_wsgi` (tests/test_keepalive.py fails if they
change): the "Connection: close" header goes through `send_header`, and the read of what is
left waits on `self.connection` and reads `self.rfile`.
"""

from __future__ import annotations

import io
import socket
import threading
from typing import Any

from werkzeug.serving import WSGIRequestHandler
from werkzeug.wsgi import LimitedStream


class _AtEndOfFile:
    """A socket that is always readable and always at its end: werkzeug's read of what is left
    after a kept-alive answer finds nothing at once, and leaves the next request alone."""

    _lock = threading.Lock()
    _ends: tuple[socket.socket, socket.socket] | None = None

    @classmethod
    def fileno(cls) -> int:
        with cls._lock:
            if cls._ends is None:
                ends = socket.socketpair()
                ends[1].shutdown(socket.SHUT_WR)  # the other end says end-of-file, for good
                cls._ends = ends
            return cls._ends[0].fileno()


class KeepAliveHandler(WSGIRequestHandler):
    """werkzeug's request handler, keeping HTTP/1.1 connections open between answers."""

    _body: LimitedStream | None = None
    _kept: tuple[Any, Any] | None = None

    def setup(self) -> None:
        super().setup()
        # Headers and body go out as separate writes: without this the body waits for the
        # client's delayed acknowledgement (40 ms) once the connection is reused.
        try:
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass

    def make_environ(self) -> dict[str, Any]:
        environ = super().make_environ()
        self._body = None
        if "wsgi.input_terminated" not in environ:  # not a chunked upload
            try:
                length = int(environ.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = -1
            if length >= 0:
                self._body = LimitedStream(self.rfile, length)
                environ["wsgi.input"] = self._body
        return environ

    def send_header(self, keyword: str, value: str) -> None:
        if keyword.lower() == "connection" and value.lower() == "close" and self._may_keep():
            # Keep the connection: werkzeug's read of what is left must not take the next request.
            self._kept = (self.connection, self.rfile)
            self.connection, self.rfile = _AtEndOfFile(), io.BytesIO()
            return
        super().send_header(keyword, value)

    def _may_keep(self) -> bool:
        body = self._body
        return (body is not None and body.is_exhausted and not self.close_connection
                and self.request_version == "HTTP/1.1" and self._kept is None)

    def run_wsgi(self) -> None:
        try:
            super().run_wsgi()
        finally:
            if self._kept is not None:
                self.connection, self.rfile = self._kept
                self._kept = None
