"""The sans-IO HTTP/1.1 server connection: bytes in, events out; response in, bytes out.

Theory of operation
-------------------
One :class:`Connection` per client connection. It owns an httptools (llhttp) request
parser and never touches a socket. The driver (a worker) feeds what it received with
:meth:`Connection.receive_data` and pulls events with :meth:`Connection.next_event`.

Received bytes are first *framed* by the connection itself, one message at a time, and
judged by :mod:`.policy` before llhttp sees them:

* **Head.** Bytes are buffered until the empty line that ends the head. While they arrive,
  every line end is checked (a bare LF is refused, RFC 9112 §2.2) and the limits are
  applied: the request line against ``max_request_line`` (414), each field line against
  ``max_field_size`` and their number against ``max_fields`` (431), the whole head against
  ``max_head_bytes`` (431). So a peer can never make the connection buffer more than that
  while a head is incomplete. The complete raw head is then checked against the RFC 9112
  grammar (:func:`policy.parse_head`) and its framing decided (:func:`policy.build_request`).
* **Body.** With a Content-Length, exactly that many bytes follow. A chunked body is framed
  line by line: each chunk-size line is checked (:func:`policy.chunk_size`), the chunk data
  is counted, the CRLF after it is required, and the trailer section is checked
  (:func:`policy.parse_trailers`).

The common case takes a shorter road to the same verdict. A head that arrives whole is
found with one ``find`` and checked against the limits and the bare-LF rule by a few passes
of ``bytes.count``/``find`` (:meth:`Connection._head_end`), then judged by one regular
expression for the whole head (:func:`policy.parse_head`); anything these do not accept
goes the line-by-line way, which decides. A head seen before under the same limits (the
exact bytes; clients repeat theirs) reuses the verdict reached then: it is a function of
the bytes and the limits alone. Either way the head is still fed to llhttp, which must
still agree.

Only bytes that belong to the current message, and that passed, are fed to llhttp, which
decodes them and produces the events. Because llhttp never sees a byte past the end of the
current message, the raw head of every request is known exactly. llhttp and the policy
must agree: if llhttp refuses what the policy passed, or ends a message anywhere but where
the framing says it ends, the request is refused. The stricter of the two always wins.

The framing runs eagerly over whatever is fed, so pipelined requests become queued events
in order. Flow control belongs to the driver: it feeds more bytes only when ``next_event``
answers ``NEED_DATA``. An error is queued at its place in the stream, so the requests
before it are served and nothing after it ever is (RFC 9112 §9.3.2); nothing after a
request that closes the connection is ever processed either.

After a request's ``EndOfMessage`` the receiving side is paused (``PAUSED``) until the
driver has sent the whole response (``send_response``, ``send_data``, ``send_eom``) and
calls :meth:`start_next_cycle`; that is allowed only while ``keep_alive`` is true.
"""

from __future__ import annotations

import sys
from collections import deque

import httptools

from ..memo import remember
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

# Receiving-side states (what next_event reports).
IDLE = 0  # between requests
HEAD = 1  # inside a request head
BODY = 2  # head delivered, body in progress
DONE = 3  # EndOfMessage delivered; waiting for start_next_cycle
CLOSED = 4  # peer closed, or a fatal error was delivered

# Framing phases (where the next received byte belongs).
_F_HEAD = 0  # a request head (or the empty lines before one)
_F_LENGTH = 1  # Content-Length body bytes
_F_CHUNK_LINE = 2  # a chunk-size line
_F_CHUNK_DATA = 3  # chunk data
_F_CHUNK_CRLF = 4  # the CRLF after chunk data
_F_TRAILERS = 5  # the trailer section
_F_STOP = 6  # nothing more is ever processed

_CHUNK_SIZE_DIGITS = 64  # room for the size itself (leading zeros included) on a chunk line

# Heads already judged, by their exact bytes, for each Limits: the request they make and
# the bytes llhttp is fed. The verdict on a head is a function of its bytes and the limits
# alone, and clients repeat theirs byte for byte (keep-alive, health checks, API clients),
# so a known head skips the grammar and goes straight to llhttp, which is still fed and
# must still agree. Bounded: at most _KNOWN_HEADS heads of at most _KNOWN_HEAD bytes per
# Limits (a few hundred KiB); a flood of distinct heads only empties it now and then.
_Known = tuple[Request, bytes]
_known_heads: dict[Limits, dict[bytes, _Known]] = {}
_KNOWN_HEADS = 256
_KNOWN_HEAD = 1024


def _copy_request(template: Request) -> Request:
    """A fresh Request equal to ``template`` (Requests are mutable; templates are not)."""
    return Request(
        template.method,
        template.target,
        template.http_version,
        list(template.headers),
        template.keep_alive,
        template.expect_continue,
        template.content_length,
        template.chunked,
        list(template.dropped_headers),
        template.upgrade,
        template.raw_head,
    )


class Connection:
    """One HTTP/1.1 server-side connection, without I/O."""

    __slots__ = (
        "_buf",
        "_eof",
        "_events",
        "_fast_limits",
        "_known",
        "_line_start",
        "_lines",
        "_llhttp_complete",
        "_llhttp_fields",
        "_llhttp_head",
        "_llhttp_nhead",
        "_parser",
        "_phase",
        "_remaining",
        "_request",
        "_scan",
        "_state",
        "_trailers",
        "limits",
        "request",
        "response",
        "retiring",
    )

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits = limits or Limits()
        self._known = _known_heads.setdefault(limits, {})
        unlimited = sys.maxsize
        self._fast_limits = (
            limits.max_head_bytes or unlimited,
            limits.max_request_line or unlimited,
            limits.max_fields or unlimited,
            limits.max_field_size or unlimited,
        )
        self._parser = httptools.HttpRequestParser(self)
        self._events: deque[Event | ProtocolError] = deque()
        self._state = IDLE
        self._eof = False
        self._buf = bytearray()
        self._phase = _F_HEAD
        self._scan = 0  # head/trailers: bytes of _buf already scanned for line ends
        self._line_start = 0  # offset in _buf of the line being received
        self._lines = 0  # complete lines of the head/trailers so far
        self._remaining = 0  # body or chunk bytes still expected
        self._trailers: Headers = []
        self._llhttp_head = False  # llhttp reached headers-complete for this message
        self._llhttp_complete = False  # llhttp reached message-complete for this message
        self._llhttp_fields: Headers = []
        self._llhttp_nhead = 0
        self._request: Request | None = None  # the one being parsed
        self.request: Request | None = None  # the one being answered
        self.response: ResponseWriter | None = None
        self.retiring = False  # see retire()

    # ------------------------------------------------------------------ input

    def receive_data(self, data: bytes) -> None:
        """Feed bytes received from the peer; ``b""`` means the peer closed its side."""
        if not data:
            self._eof = True
            return
        if self._phase == _F_STOP or self._eof:
            return  # nothing after a fatal error, a closing request or EOF is processed
        try:
            if not self._buf and self._phase == _F_HEAD and type(data) is bytes:
                # The common case: whole heads at the start of what arrived. They are
                # served from ``data`` itself, without copying it into the buffer.
                data = self._heads(data)
                if not data:
                    return
            self._buf += data
            self._frame()
        except ProtocolError as exc:
            self._fail(exc)

    def next_event(self) -> Event | _Sentinel:
        """The next event, ``NEED_DATA`` or ``PAUSED``; raises :class:`ProtocolError`."""
        state = self._state
        if state == DONE:
            return PAUSED
        if state == CLOSED:
            return ConnectionClosed()
        if self._events:
            event = self._events.popleft()
            if type(event) is Request:
                self.request = event
                self._state = BODY
            elif type(event) is EndOfMessage:
                self._state = DONE
            elif isinstance(event, ProtocolError):
                self._state = CLOSED
                raise event
            return event
        if self._eof:
            self._state = CLOSED
            if state == BODY:
                raise ProtocolError(400, "Bad Request", "incomplete request body")
            return ConnectionClosed()
        return NEED_DATA

    @property
    def their_state(self) -> int:
        return self._state

    @property
    def in_head(self) -> bool:
        """True while a request head has begun but is not complete."""
        return self._phase == _F_HEAD and bool(self._buf)

    @property
    def idle(self) -> bool:
        """True between requests with no partial request buffered."""
        return (
            self._state == IDLE and not self._events and not (self._buf and self._phase == _F_HEAD)
        )

    @property
    def keep_alive(self) -> bool:
        """Whether the connection may carry another request after this response."""
        req = self.request
        if req is None or not req.keep_alive:
            return False
        resp = self.response
        return resp is None or resp.keep_alive

    def next_cycle(self) -> bool:
        """After a response: :meth:`start_next_cycle` if the connection may carry another
        request (and the response is complete); False if it must close."""
        resp = self.response
        req = self.request
        if (
            resp is None
            or not resp.finished
            or not resp.keep_alive
            or req is None
            or not req.keep_alive
        ):
            return False
        if self._state != DONE:
            raise LocalProtocolError("start_next_cycle() before the request was complete")
        self.request = None
        self.response = None
        self._state = IDLE
        return True

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
        self.response = response = ResponseWriter(req)
        if self.retiring:
            self._last_before_retiring(response)
        return response.head(status, reason, headers)

    def send_complete(
        self, status: int, reason: str, headers: list[tuple[str, str]], data: bytes
    ) -> bytes:
        """A whole response at once: :meth:`send_response`, :meth:`send_data` (``data``)
        and :meth:`send_eom`."""
        req = self.request
        if req is None:
            raise LocalProtocolError("no request to respond to")
        if self.response is not None and self.response.head_sent:
            raise LocalProtocolError("response already started")
        self.response = response = ResponseWriter(req)
        if self.retiring:
            self._last_before_retiring(response)
        return response.complete(status, reason, headers, data)

    def retire(self) -> None:
        """The server is retiring this connection: no new request after what has arrived.

        From now on a response whose head is not yet sent says ``Connection: close``,
        unless more requests the client pipelined are already here: those are served too
        (a client has sent them, so they are owed), and the last one says close.
        """
        self.retiring = True

    def _last_before_retiring(self, response: ResponseWriter) -> None:
        next_begun = self._phase == _F_HEAD and bool(self._buf)
        if not next_begun and not any(type(e) is Request for e in self._events):
            response.keep_alive = False

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

    # ---------------------------------------------------------------- framing

    def _heads(self, data: bytes) -> bytes:
        """Begin the messages whose heads are complete at the start of ``data`` (with an
        empty buffer); returns the bytes that are left for the framing loop."""
        pos = 0
        size = len(data)
        known_heads = self._known
        while True:
            end = data.find(b"\r\n\r\n", pos) + 4
            if end < 4:
                return data[pos:] if pos else data
            raw = data if pos == 0 and end == size else data[pos:end]
            known = known_heads.get(raw)
            if known is None:
                end = self._head_end(data, pos)
                if end < 0:
                    return data[pos:] if pos else data
            self._begin_message(raw, known)
            pos = end
            if self._phase != _F_HEAD:
                return data[pos:] if self._phase != _F_STOP else b""
            if pos == size:
                return b""

    def _head_end(self, data: bytes | bytearray, pos: int, scanned: int = 0) -> int:
        """The offset just past a complete head at ``pos`` of ``data`` that passes every
        check :meth:`_scan_lines` applies, found in a few passes of C code; ``-1`` when
        there is none or any doubt (the line-by-line scan then decides, with the same
        verdict). ``scanned``: bytes already scanned line by line (no empty line there)."""
        end = data.find(b"\r\n\r\n", max(pos, scanned - 3))
        if end <= pos or data[pos] in (0x0D, 0x0A):
            return -1  # no complete head, or empty lines before it (RFC 9112 §2.2)
        stop = end + 4
        max_head, max_line, max_fields, max_field = self._fast_limits
        if stop - pos > max_head:
            return -1
        lines = data.count(b"\r\n", pos, stop)
        if data.count(b"\n", pos, stop) != lines:
            return -1  # a bare LF (RFC 9112 §2.2)
        if lines - 2 > max_fields or data.find(b"\r\n", pos) - pos > max_line:
            return -1
        if stop - pos > max_field:
            return -1  # some field line may be too long: let the scan measure each
        return stop

    def _frame(self) -> None:
        """Consume as much of ``_buf`` as forms whole framing units."""
        buf = self._buf
        while buf:
            phase = self._phase
            if phase == _F_HEAD:
                stop = self._head_end(buf, 0, self._scan)
                if stop > 0:
                    raw = bytes(buf[:stop])
                    del buf[:stop]
                    self._scan = self._line_start = self._lines = 0
                    self._begin_message(raw, self._known.get(raw))
                    continue
                end = self._scan_lines(head=True)
                if end is None:
                    return
                raw = bytes(buf[:end])
                del buf[:end]
                self._begin_message(raw)
            elif phase in (_F_LENGTH, _F_CHUNK_DATA):
                take = min(len(buf), self._remaining)
                self._feed(bytes(buf[:take]))
                del buf[:take]
                self._remaining -= take
                if self._remaining == 0:
                    if phase == _F_LENGTH:
                        self._end_message()
                    else:
                        self._phase = _F_CHUNK_CRLF
            elif phase == _F_CHUNK_LINE:
                self._chunk_line()
                if self._phase == _F_CHUNK_LINE:
                    return
            elif phase == _F_CHUNK_CRLF:
                # RFC 9112 §7.1: chunk-data is followed by exactly CRLF.
                if buf[:2] != b"\r\n"[: len(buf)]:
                    raise ProtocolError(400, "Bad Request", "no CRLF after chunk data")
                if len(buf) < 2:
                    return
                self._feed(b"\r\n")
                del buf[:2]
                self._phase = _F_CHUNK_LINE
            elif phase == _F_TRAILERS:
                end = self._scan_lines(head=False)
                if end is None:
                    return
                raw = bytes(buf[:end])
                del buf[:end]
                self._trailers, feed = policy.parse_trailers(raw, self.limits)
                self._feed(feed)
                self._end_message()
            else:  # _F_STOP
                buf.clear()
                return

    def _scan_lines(self, *, head: bool) -> int | None:
        """Find the end of a head (or trailer section) in ``_buf``, applying the limits to
        each line as it completes. Returns the offset just past the empty line, or None."""
        buf = self._buf
        limits = self.limits
        if head and self._scan == 0:
            # RFC 9112 §2.2: empty lines before the request line are ignored.
            skip = 0
            while buf[skip : skip + 2] == b"\r\n":
                skip += 2
            if skip:
                del buf[:skip]
            if not buf or buf == b"\r":
                return None
        pos = self._scan
        while True:
            nl = buf.find(b"\n", pos)
            if nl == -1:
                break
            if nl == 0 or buf[nl - 1] != 0x0D:
                # RFC 9112 §2.2: a bare LF is not a line terminator here; refused.
                raise ProtocolError(400, "Bad Request", "bare LF")
            length = nl - 1 - self._line_start
            if head and self._lines == 0:
                self._check_request_line(length)
            elif length == 0:
                end = nl + 1
                if limits.max_head_bytes and end > limits.max_head_bytes:
                    raise ProtocolError(431, "Request Header Fields Too Large")
                self._scan = self._line_start = self._lines = 0
                return end
            else:
                self._check_field_line(length, self._lines + (0 if head else 1))
            self._lines += 1
            self._line_start = pos = nl + 1
        self._scan = len(buf)
        partial = len(buf) - self._line_start
        if partial:
            partial -= buf[-1] == 0x0D  # a CR that may begin the CRLF
            if head and self._lines == 0:
                self._check_request_line(partial)
            else:
                self._check_field_line(partial, self._lines + (0 if head else 1))
        if limits.max_head_bytes and len(buf) > limits.max_head_bytes:
            raise ProtocolError(431, "Request Header Fields Too Large")
        return None

    def _check_request_line(self, length: int) -> None:
        limit = self.limits.max_request_line
        if limit and length > limit:
            # RFC 9112 §3: a request line longer than the server parses -> 414 (RFC 9110
            # §15.5.15), the status Gunicorn gives for --limit-request-line.
            raise ProtocolError(414, "URI Too Long")

    def _check_field_line(self, length: int, number: int) -> None:
        limits = self.limits
        if limits.max_field_size and length > limits.max_field_size:
            # RFC 6585 §5: 431 for a field too large.
            raise ProtocolError(431, "Request Header Fields Too Large")
        if limits.max_fields and number > limits.max_fields:
            raise ProtocolError(431, "Request Header Fields Too Large")

    def _chunk_line(self) -> None:
        buf = self._buf
        nl = buf.find(b"\n")
        if nl == -1:
            ext = self.limits.max_chunk_ext
            if ext and len(buf) > _CHUNK_SIZE_DIGITS + ext + 1:
                raise ProtocolError(400, "Bad Request", "chunk-size line too long")
            return
        line = bytes(buf[: nl + 1])
        size, feed = policy.chunk_size(line, self.limits)
        self._feed(feed)
        del buf[: nl + 1]
        if size:
            self._phase = _F_CHUNK_DATA
            self._remaining = size
        else:
            self._phase = _F_TRAILERS  # RFC 9112 §7.1: last-chunk, then trailer-section

    def _begin_message(self, raw: bytes, known: _Known | None = None) -> None:
        """Judge the head ``raw``, feed it to llhttp and queue its Request. ``known``: the
        verdict on the same bytes under the same limits, from :attr:`_known`."""
        if known is None:
            head = policy.parse_head(raw, self.limits)
            request = policy.build_request(head)
            feed = head.feed
        else:
            template, feed = known
            request = _copy_request(template)
        self._request = request
        self._llhttp_head = self._llhttp_complete = False
        self._llhttp_fields = []
        self._feed(feed)
        if not self._llhttp_head:
            raise ProtocolError(400, "Bad Request", "llhttp did not end the head there")
        if self._llhttp_fields != request.headers:
            raise ProtocolError(400, "Bad Request", "llhttp parsed the head differently")
        if known is None and len(raw) <= _KNOWN_HEAD:
            request.raw_head = raw
            remember(self._known, raw, (_copy_request(request), feed), _KNOWN_HEADS)
        self._events.append(request)
        if request.chunked:
            self._phase = _F_CHUNK_LINE
        elif request.content_length:
            self._phase = _F_LENGTH
            self._remaining = request.content_length
        else:
            self._end_message()

    def _end_message(self) -> None:
        if not self._llhttp_complete:
            raise ProtocolError(400, "Bad Request", "llhttp did not end the message there")
        trailers = self._trailers
        if (
            self._llhttp_fields[self._llhttp_nhead :] != trailers
            if trailers
            else len(self._llhttp_fields) != self._llhttp_nhead
        ):
            raise ProtocolError(400, "Bad Request", "llhttp parsed the trailers differently")
        request = self._request
        if trailers:
            self._events.append(EndOfMessage(trailers))
            self._trailers = []
        else:
            self._events.append(EndOfMessage([]))
        if request is not None and not request.keep_alive:
            # Nothing after a request that closes the connection is ever processed.
            self._stop()
        else:
            self._phase = _F_HEAD

    def _feed(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            # CONNECT / Upgrade: llhttp stops after the head. The policy refused any such
            # request with content, so the message is complete; it is answered normally
            # and the connection closes (Request.upgrade, keep_alive false).
            if not self._llhttp_complete:
                raise ProtocolError(400, "Bad Request", "unexpected upgrade") from None
        except httptools.HttpParserCallbackError as exc:
            raise _callback_error(exc) from None
        except httptools.HttpParserError as exc:
            raise policy.parser_error(exc) from None

    # -------------------------------------------------------- parser callbacks

    def on_header(self, name: bytes, value: bytes) -> None:
        # llhttp keeps the OWS after a value; RFC 9112 §5 excludes it from the value.
        self._llhttp_fields.append((name, value.rstrip(b" \t")))

    def on_headers_complete(self) -> None:
        self._llhttp_head = True
        self._llhttp_nhead = len(self._llhttp_fields)

    def on_body(self, body: bytes) -> None:
        self._events.append(Data(body))

    def on_message_complete(self) -> None:
        self._llhttp_complete = True

    # ------------------------------------------------------------------ helpers

    def _stop(self) -> None:
        self._phase = _F_STOP
        self._buf.clear()

    def _fail(self, error: ProtocolError) -> None:
        self._stop()
        self._events.append(error)


def _callback_error(exc: BaseException) -> ProtocolError:
    cause = exc.__context__
    if isinstance(cause, ProtocolError):
        return cause
    return ProtocolError(400, "Bad Request")


__all__ = ["NEED_DATA", "PAUSED", "Connection", "LocalProtocolError"]
