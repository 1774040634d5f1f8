"""The request cycle of one client connection, shared by every worker class.

A :class:`Session` sits between a worker's socket handling and the HTTP core + WSGI
adapter. It knows nothing of sockets, selectors, threads or greenlets: the worker feeds
it bytes and does what the returned :class:`Step` says. This is the one request loop in
corral; workers are I/O drivers around it, so a behaviour (keep-alive, pipelining,
100-continue, error responses, PROXY handling) is written once and is the same in every
worker.

Driver contract::

    step = session.receive(data)          # data=b"" when the peer closed
    loop:
        send step.send                    # bytes to write now (may be empty)
        if step.job: send every item the job yields, then step = session.finish()
                     (finish() returns the next step: pipelined requests are served
                      from what is already buffered, without reading)
        elif step.close: close the socket
        else: read more and call receive() again

Two body modes:

* buffered (the default; sync and gthread workers): the body is collected before the
  application is called, in memory up to ``spool_threshold`` bytes then in a temporary
  file, so a slow client never holds an application call open.
* streaming (pass ``recv``; workers whose connections each have their own greenlet or
  thread): the application is called once the head is complete and ``wsgi.input`` pulls
  the body through ``recv()`` as it reads; ``100 Continue`` is sent on the first read.
  After the response, an unread rest of the body is drained (up to ``spool_threshold``
  bytes; beyond that the connection is closed rather than read for nothing).
"""

from __future__ import annotations

import fcntl
import io
import struct
import tempfile
import termios
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any, cast

from .http import (
    NEED_DATA,
    PAUSED,
    Connection,
    ConnectionClosed,
    Data,
    EndOfMessage,
    Limits,
    ProtocolError,
    Request,
    error_response,
)
from .proxy import environ_from
from .wsgi import ClientDisconnected, ConnInfo, ErrorLog, FileSegment, WSGIRunner

DEFAULT_SPOOL_THRESHOLD = 1024 * 1024


@dataclass(slots=True)
class Step:
    """What the driver must do next."""

    send: bytes = b""  # write these bytes now
    job: Iterator[bytes | FileSegment] | None = None  # then stream this response
    close: bool = False  # then close the connection (after ``send``)


_NEED_DATA = Step()


class Session:
    """One client connection's request cycle, without I/O."""

    __slots__ = (
        "_body",
        "_body_done",
        "_body_error",
        "_body_size",
        "_broken",
        "_proxy_reader",
        "_refused",
        "_request",
        "conn",
        "info",
        "log",
        "recv",
        "requests",
        "runner",
        "send_now",
        "spool_threshold",
        "started",
    )

    def __init__(
        self,
        runner: WSGIRunner,
        info: ConnInfo,
        limits: Limits,
        log: ErrorLog,
        *,
        spool_threshold: int = DEFAULT_SPOOL_THRESHOLD,
        send_now: Callable[[bytes], None] | None = None,
        recv: Callable[[], bytes] | None = None,
    ) -> None:
        self.runner = runner
        self.info = info
        self.log = log
        self.conn = Connection(limits)
        self.spool_threshold = spool_threshold
        self.send_now = send_now
        self.recv = recv
        self._body_done = True
        self._body_error: ProtocolError | None = None
        self._broken = False
        self._proxy_reader: Any = None
        self._refused = False
        policy = info.proxy
        if policy is not None:
            if policy.admits(info.remote_addr, info.is_unix):
                self._proxy_reader = policy.codec.new_reader(policy.versions)
            else:
                self._refused = True
        self.requests = 0
        self.started = 0.0  # time.monotonic() when the current request was dispatched
        self._request: Request | None = None
        self._body: IO[bytes] | None = None
        self._body_size = 0

    @property
    def idle(self) -> bool:
        """Between requests with nothing buffered: safe to close on shutdown."""
        return self._request is None and self.conn.idle

    # ------------------------------------------------------------- retiring

    def retire(self) -> None:
        """The worker is retiring: the connection carries no request after those the
        client has already sent; the last response says ``Connection: close``.

        The rule every worker class follows while it retires (docs/SIGNALS.md): it stops
        accepting, serves each connection it holds to the end of its current request and
        answers that with ``Connection: close``; a connection whose request has not
        arrived yet waits for it under its header deadline; an idle keep-alive connection
        waits for its next request (answered with close) or its keep-alive deadline, the
        same as if the worker were not retiring, because closing it earlier races the
        client's next request. Only when the whole server stops does a driver also close
        idle keep-alive connections early: see :meth:`closable_on_stop`.
        """
        self.conn.retire()

    @property
    def in_request(self) -> bool:
        """A request has been dispatched and its response is not finished."""
        return self._request is not None

    def closable_on_stop(self, fd: int) -> bool:
        """The server is stopping: may this connection be closed now? Only an idle
        keep-alive connection (it has served a request, is between requests, and nothing
        has arrived on ``fd``): a new connection's request may be on its way, and bytes
        already received are a request the client has sent, which is served."""
        return self.requests > 0 and self.idle and not bytes_waiting(fd)

    def abort_response(self) -> bytes:
        """The worker is being aborted (``--timeout``) while this connection's request
        runs: a 500 that closes the connection if no byte of a response was sent, else
        ``b""`` (a response already begun can only be cut)."""
        if self._request is None:
            return b""
        resp = self.conn.response
        if resp is not None and resp.head_sent:
            return b""
        return error_response(500, "Internal Server Error")

    def describe(self) -> str:
        """The current request, for the log: method, target, seconds since dispatch."""
        request = self._request
        if request is None:
            return "no request"
        method = request.method.decode("latin-1", "replace")
        target = request.target.decode("latin-1", "replace")
        return f"{method} {target} after {time.monotonic() - self.started:.2f} s"

    # ------------------------------------------------------------ the cycle

    def receive(self, data: bytes) -> Step:
        """Feed bytes from the peer (``b""``: it closed) and advance."""
        if self._proxy_reader is not None or self._refused:
            return self._receive_proxy_header(data)
        self.conn.receive_data(data)
        return self.advance()

    def _receive_proxy_header(self, data: bytes) -> Step:
        """The PROXY protocol header that must precede any HTTP byte (see corral.proxy)."""
        info = self.info
        policy = info.proxy
        if not data:
            return Step(close=True)  # a probe that connects and leaves is no error
        if self._refused:
            policy.log.warning(
                "Refused a connection from %s: not in --proxy-allow-from", info.remote_addr
            )
            return Step(close=True)
        try:
            result = self._proxy_reader.feed(data)
        except policy.codec.ERRORS as exc:
            self._proxy_reader = None
            policy.log.warning("Invalid PROXY header from %s: %s", info.remote_addr, exc)
            return Step(close=True)
        if result is None:
            return _NEED_DATA
        self._proxy_reader = None
        details, remaining = result
        client, extra, tls = environ_from(details)
        if client is not None:
            info.remote_addr, info.remote_port = client
        info.extra.update(extra)
        if tls:
            info.url_scheme = "https"
        if remaining:
            self.conn.receive_data(remaining)
        return self.advance()

    def advance(self) -> Step:
        next_event = self.conn.next_event
        out = b""
        while True:
            try:
                event = next_event()
            except ProtocolError as exc:
                self._discard_body()
                self.log.debug("Invalid request from %s: %s", self.info.remote_addr, exc)
                return Step(out + error_response(exc.status, exc.reason), close=True)
            if event is NEED_DATA:
                return Step(out) if out else _NEED_DATA
            if type(event) is Data:
                self._write_body(event.data)
            elif type(event) is Request:
                request = event
                self._request = request
                if self.recv is not None:  # streaming: the app reads the body itself
                    # pull_body() reads up to the EndOfMessage, which follows the head
                    # at once when there is no body.
                    self._body_done = False
                    return Step(out, self._dispatch(cast(IO[bytes], StreamingInput(self))))
                if request.chunked or request.content_length:
                    out += self.conn.send_continue()
            elif type(event) is EndOfMessage:
                if self.recv is not None:  # streaming: the end of a body already read
                    continue
                return Step(out, self._dispatch())
            elif type(event) is ConnectionClosed:
                self._discard_body()
                return Step(out, close=True)
            elif event is PAUSED:  # pragma: no cover - a driver bug
                raise RuntimeError("advance() called before finish()")

    def finish(self) -> Step:
        """The response job is exhausted: keep the connection, or close it."""
        conn = self.conn
        self._request = None
        if self._body is not None:
            self._discard_body()
        if self.recv is not None and not self._drain():
            return Step(close=True)
        if not conn.next_cycle():
            return Step(close=True)
        return self.advance()

    def refusal(self) -> bytes:
        """Streaming mode, after the response job was aborted: the error response for a
        malformed body that nothing has been sent for yet, else ``b""``."""
        exc = self._body_error
        if exc is None or self.conn.response is not None:
            return b""
        return error_response(exc.status, exc.reason)

    def abandon(self) -> None:
        """The connection is being closed: release what the request held."""
        self._request = None
        self._discard_body()

    # ---------------------------------------------------------------- helpers

    def pull_body(self) -> bytes:
        """Streaming mode: the next piece of the request body, ``b""`` at its end."""
        if self._body_done:
            return b""
        conn = self.conn
        request = conn.request
        if self.send_now is not None and request is not None and request.has_body:
            cont = conn.send_continue()
            if cont:
                self.send_now(cont)
        while True:
            try:
                event = conn.next_event()
            except ProtocolError as exc:
                # (Answered even when the peer ended its side mid-body: it may still read,
                # and the buffering workers answer it the same way.)
                self._body_done = self._broken = True
                self._body_error = exc
                raise ClientDisconnected(f"malformed request body: {exc}") from None
            if isinstance(event, Data):
                return event.data
            if isinstance(event, EndOfMessage):
                self._body_done = True
                return b""
            if event is NEED_DATA:
                assert self.recv is not None
                try:
                    data = self.recv()
                except OSError as exc:
                    self._body_done = self._broken = True
                    raise ClientDisconnected(f"reading the request body: {exc}") from None
                conn.receive_data(data)
                continue
            self._body_done = self._broken = True
            raise ClientDisconnected("the client closed the connection mid-body")

    def _drain(self) -> bool:
        """Discard what the application did not read of the body; False: close instead."""
        budget = self.spool_threshold
        try:
            while not self._body_done and budget > 0:
                budget -= len(self.pull_body())
        except ClientDisconnected:
            return False
        return self._body_done and not self._broken

    def _dispatch(self, body: IO[bytes] | None = None) -> Iterator[bytes | FileSegment]:
        request = self._request
        assert request is not None
        if body is None:
            body = self._body
            if body is None:
                body = io.BytesIO()
            else:
                body.seek(0)
        self.requests += 1
        self.started = time.monotonic()
        return self.runner.run(self.conn, self.info, request, body, self.send_now)

    def _write_body(self, data: bytes) -> None:
        body = self._body
        if body is None:
            # Closed by _discard_body() when the request is done.
            body = self._body = tempfile.SpooledTemporaryFile(  # noqa: SIM115
                max_size=self.spool_threshold
            )
        body.write(data)
        self._body_size += len(data)

    def _discard_body(self) -> None:
        if self._body is not None:
            self._body.close()
            self._body = None
        self._body_size = 0


_INT = struct.Struct("i")


def bytes_waiting(fd: int) -> int:
    """How many received bytes wait unread on socket ``fd`` (0 on any error)."""
    try:
        return int(_INT.unpack(fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"))[0])
    except OSError:
        return 0


class StreamingInput(io.RawIOBase):
    """``wsgi.input`` that reads the body from the connection as the application asks."""

    def __init__(self, session: Session) -> None:
        super().__init__()
        self._session = session
        self._buf = bytearray()
        self._eof = False

    def readable(self) -> bool:
        return True

    def _fill(self) -> bool:
        if self._eof:
            return False
        piece = self._session.pull_body()
        if not piece:
            self._eof = True
            return False
        self._buf += piece
        return True

    def readinto(self, buffer: Any) -> int:
        if not self._buf:
            self._fill()
        n = min(len(buffer), len(self._buf))
        buffer[:n] = self._buf[:n]
        del self._buf[:n]
        return n

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            while self._fill():
                pass
            out = bytes(self._buf)
            self._buf.clear()
            return out
        while len(self._buf) < size and self._fill():
            pass
        out = bytes(self._buf[:size])
        del self._buf[:size]
        return out

    def readline(self, size: int | None = -1) -> bytes:
        limit = size if size is not None and size >= 0 else None
        while True:
            end = self._buf.find(b"\n")
            if end != -1 and (limit is None or end < limit):
                return self.read(end + 1)
            if limit is not None and len(self._buf) >= limit:
                return self.read(limit)
            if not self._fill():
                return self.read(len(self._buf))
