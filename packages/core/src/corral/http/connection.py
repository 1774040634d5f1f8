"""The sans-IO HTTP/1.1 server connection: bytes in, events out; response in, bytes out.

Theory of operation
-------------------
One :class:`Connection` per client connection. It owns an httptools (llhttp) request
parser and never touches a socket. The driver (a worker) feeds what it received with
:meth:`Connection.receive_data` and pulls events with :meth:`Connection.next_event`.

The parser runs eagerly over whatever is fed, so pipelined requests become queued events in
order. Flow control belongs to the driver: it feeds more bytes only when ``next_event``
answers ``NEED_DATA``. A parse error is queued at its place in the stream, so the requests
before it are served and nothing after it ever is (RFC 9112 §9.3.2 pipelining order).

After a request's ``EndOfMessage`` the receiving side is paused (``PAUSED``) until the
driver has sent the whole response (``send_response``, ``send_data``, ``send_eom``) and
calls :meth:`start_next_cycle`; that is allowed only while ``keep_alive`` is true.

Limits are enforced while bytes arrive, never after buffering: the request line against
``max_request_line`` (414), each field line against ``max_field_size`` and the count
against ``max_fields`` (431), and the whole head against ``max_head_bytes`` (431), so a
peer can never make the connection buffer more than that while a head is incomplete.
"""

from __future__ import annotations

from collections import deque

import httptools

from . import policy
from .events import (
    NEED_DATA,
    PAUSED,
    ConnectionClosed,
    Data,
    EndOfMessage,
    Event,
    Headers,
    LocalProtocolError,
    ProtocolError,
    Request,
    _Sentinel,
)
from .limits import Limits
from .response import ResponseWriter

# Receiving-side states.
IDLE = 0  # between requests
HEAD = 1  # inside a request head
BODY = 2  # head delivered, body in progress
DONE = 3  # EndOfMessage delivered; waiting for start_next_cycle
CLOSED = 4  # peer closed, or a fatal error was delivered


class Connection:
    """One HTTP/1.1 server-side connection, without I/O."""

    __slots__ = (
        "_eof",
        "_events",
        "_failed",
        "_field_count",
        "_head_bytes",
        "_headers",
        "_in_head",
        "_in_trailers",
        "_parser",
        "_request",
        "_state",
        "_trailers",
        "_url",
        "limits",
        "request",
        "response",
    )

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self._parser = httptools.HttpRequestParser(self)
        self._events: deque[Event | ProtocolError] = deque()
        self._state = IDLE
        self._eof = False
        self._failed = False
        self._in_head = False
        self._in_trailers = False
        self._head_bytes = 0
        self._url = b""
        self._headers: Headers = []
        self._trailers: Headers = []
        self._field_count = 0
        self._request: Request | None = None  # the one being parsed
        self.request: Request | None = None  # the one being answered
        self.response: ResponseWriter | None = None

    # ------------------------------------------------------------------ input

    def receive_data(self, data: bytes) -> None:
        """Feed bytes received from the peer; ``b""`` means the peer closed its side."""
        if not data:
            self._eof = True
            return
        if self._failed or self._eof:
            return  # nothing after a fatal error (or after EOF) is ever processed
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            # Upgrade / CONNECT: the request itself has been parsed (its events are queued);
            # WSGI cannot switch protocols, so it is answered normally and the connection
            # closes after it. Bytes after the head are not HTTP/1.1 and are never read.
            self._failed = True
            self._force_close_last()
        except httptools.HttpParserCallbackError as exc:
            self._fail(_callback_error(exc))
        except httptools.HttpParserError as exc:
            self._fail(policy.parser_error(exc))
        else:
            if self._in_head:
                self._head_bytes += len(data)
                if self._head_bytes > self.limits.max_head_bytes:
                    self._fail(ProtocolError(431, "Request Header Fields Too Large"))

    def next_event(self) -> Event | _Sentinel:
        """The next event, ``NEED_DATA`` or ``PAUSED``; raises :class:`ProtocolError`."""
        state = self._state
        if state == DONE:
            return PAUSED
        if state == CLOSED:
            return ConnectionClosed()
        if self._events:
            event = self._events.popleft()
            if isinstance(event, ProtocolError):
                self._state = CLOSED
                raise event
            if isinstance(event, Request):
                self.request = event
                self._state = BODY
            elif isinstance(event, EndOfMessage):
                self._state = DONE
            return event
        if self._eof:
            self._state = CLOSED
            if state == BODY:
                raise ProtocolError(400, "Incomplete Request Body")
            return ConnectionClosed()
        return NEED_DATA

    @property
    def their_state(self) -> int:
        return self._state

    @property
    def in_head(self) -> bool:
        """True while a request head has begun but is not complete."""
        return self._in_head

    @property
    def idle(self) -> bool:
        """True between requests with no partial request buffered."""
        return self._state == IDLE and not self._in_head and not self._events

    @property
    def keep_alive(self) -> bool:
        """Whether the connection may carry another request after this response."""
        req = self.request
        if req is None or not req.keep_alive:
            return False
        resp = self.response
        return resp is None or resp.keep_alive

    def start_next_cycle(self) -> None:
        """Forget the finished request and response; go on to the next request."""
        if self._state != DONE:
            raise LocalProtocolError("start_next_cycle() before the request was complete")
        if self.response is None or not self.response.finished:
            raise LocalProtocolError("start_next_cycle() before the response was complete")
        if not self.keep_alive:
            raise LocalProtocolError("start_next_cycle() on a connection that must close")
        self.request = None
        self.response = None
        self._state = IDLE

    # ----------------------------------------------------------------- output

    def send_response(self, status: int, reason: str, headers: list[tuple[str, str]]) -> bytes:
        """Serialise the status line and headers; decides the body framing."""
        req = self.request
        if req is None:
            raise LocalProtocolError("no request to respond to")
        if self.response is not None and self.response.head_sent:
            raise LocalProtocolError("response already started")
        self.response = ResponseWriter(req)
        return self.response.head(status, reason, headers)

    def send_data(self, data: bytes) -> bytes:
        if self.response is None:
            raise LocalProtocolError("send_data() before send_response()")
        return self.response.data(data)

    def send_eom(self) -> bytes:
        if self.response is None:
            raise LocalProtocolError("send_eom() before send_response()")
        return self.response.eom()

    def send_continue(self) -> bytes:
        """``100 Continue`` if the request asked for it and nothing was sent yet."""
        req = self.request
        if req is None or not req.expect_continue or self.response is not None:
            return b""
        req.expect_continue = False  # once
        return b"HTTP/1.1 100 Continue\r\n\r\n"

    # -------------------------------------------------------- parser callbacks

    def on_message_begin(self) -> None:
        self._in_head = True
        self._head_bytes = 0
        self._url = b""
        self._headers = []
        self._trailers = []
        self._field_count = 0
        self._in_trailers = False

    def on_url(self, url: bytes) -> None:
        self._url += url
        limit = self.limits.max_request_line
        if limit and len(self._url) > limit:
            raise ProtocolError(414, "URI Too Long")

    def on_header(self, name: bytes, value: bytes) -> None:
        limits = self.limits
        if limits.max_field_size and len(name) + len(value) + 2 > limits.max_field_size:
            raise ProtocolError(431, "Request Header Fields Too Large")
        self._field_count += 1
        if limits.max_fields and self._field_count > limits.max_fields:
            raise ProtocolError(431, "Request Header Fields Too Large")
        if self._in_trailers:
            self._trailers.append((name, value))
        else:
            self._headers.append((name, value))

    def on_headers_complete(self) -> None:
        parser = self._parser
        self._in_head = False
        self._request = policy.build_request(
            parser.get_method(), self._url, parser.get_http_version(), self._headers, self.limits
        )
        self._events.append(self._request)
        self._in_trailers = True  # any further fields are trailers
        self._field_count = 0

    def on_body(self, body: bytes) -> None:
        self._events.append(Data(body))

    def on_message_complete(self) -> None:
        trailers = self._trailers
        if trailers:
            policy.check_trailers(trailers)
        self._events.append(EndOfMessage(trailers))
        if self._request is not None and not self._request.keep_alive:
            # Nothing after a request that closes the connection is ever processed.
            self._failed = True

    # ------------------------------------------------------------------ helpers

    def _fail(self, error: ProtocolError) -> None:
        self._failed = True
        self._in_head = False
        self._events.append(error)

    def _force_close_last(self) -> None:
        if self._request is not None:
            self._request.keep_alive = False


def _callback_error(exc: BaseException) -> ProtocolError:
    cause = exc.__context__
    if isinstance(cause, ProtocolError):
        return cause
    return ProtocolError(400, "Bad Request")


__all__ = ["NEED_DATA", "PAUSED", "Connection", "LocalProtocolError"]
