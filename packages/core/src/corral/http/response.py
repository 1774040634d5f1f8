"""Response serialisation: status line, headers, and body framing (RFC 9112 §6)."""

from __future__ import annotations

import time
from email.utils import formatdate

from .events import LocalProtocolError, Request

SERVER_HEADER = b"corral"

# Body framing of a response.
NO_BODY = 0  # HEAD, 1xx, 204, 304 (RFC 9110 §6.4.1)
LENGTH = 1  # Content-Length given by the application
CHUNKED = 2  # HTTP/1.1 without a length
UNTIL_CLOSE = 3  # HTTP/1.0 without a length: the end of the body is the close

_date_cache: tuple[int, bytes] = (0, b"")


def http_date() -> bytes:
    """The ``Date`` header value, formatted once per second (RFC 9110 §5.6.7)."""
    global _date_cache
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache = (now, formatdate(now, usegmt=True).encode("ascii"))
    return _date_cache[1]


def _bad_field(text: str) -> bool:
    return "\r" in text or "\n" in text or "\0" in text


class ResponseWriter:
    """Frames one response to one request; tracks what was sent."""

    __slots__ = (
        "body_bytes",
        "finished",
        "head_sent",
        "headers",
        "keep_alive",
        "mode",
        "overrun",
        "remaining",
        "request",
        "status",
    )

    def __init__(self, request: Request) -> None:
        self.request = request
        self.status = 0
        self.headers: list[tuple[str, str]] = []
        self.head_sent = False
        self.finished = False
        self.keep_alive = request.keep_alive
        self.mode = NO_BODY
        self.remaining = 0
        self.body_bytes = 0
        self.overrun = False

    def head(self, status: int, reason: str, headers: list[tuple[str, str]]) -> bytes:
        if self.head_sent:
            raise LocalProtocolError("response already started")
        if not 100 <= status <= 999 or _bad_field(reason):
            raise LocalProtocolError(f"invalid status {status} {reason!r}")
        request = self.request
        length: int | None = None
        chunked_by_app = False
        has_date = has_server = False
        out = [f"HTTP/1.1 {status} {reason}\r\n".encode("latin-1")]
        append = out.append
        for name, value in headers:
            if _bad_field(name) or _bad_field(value) or ":" in name or not name:
                raise LocalProtocolError(f"invalid response header {name!r}: {value!r}")
            lname = name.lower()
            if lname == "content-length":
                text = value.strip()
                if not text.isdigit():
                    raise LocalProtocolError(f"invalid Content-Length {value!r}")
                length = int(text)
                continue  # written below, once
            if lname == "transfer-encoding":
                # Framing is the server's job (PEP 3333: hop-by-hop headers are ours).
                chunked_by_app = True
                continue
            if lname == "connection":
                if "close" in value.lower():
                    self.keep_alive = False
                continue
            if lname == "date":
                has_date = True
            elif lname == "server":
                has_server = True
            append(f"{name}: {value}\r\n".encode("latin-1"))
        del chunked_by_app  # the server always chooses the framing itself

        if request.method == b"HEAD" or status < 200 or status in (204, 304):
            self.mode = NO_BODY
            if length is not None and status != 204:
                append(b"Content-Length: %d\r\n" % length)
        elif length is not None:
            self.mode = LENGTH
            self.remaining = length
            append(b"Content-Length: %d\r\n" % length)
        elif request.http_version == "1.1":
            self.mode = CHUNKED
            append(b"Transfer-Encoding: chunked\r\n")
        else:
            self.mode = UNTIL_CLOSE
            self.keep_alive = False

        if not has_date:
            append(b"Date: " + http_date() + b"\r\n")
        if not has_server:
            append(b"Server: " + SERVER_HEADER + b"\r\n")
        if not self.keep_alive:
            append(b"Connection: close\r\n")
        elif request.http_version == "1.0":
            append(b"Connection: keep-alive\r\n")
        append(b"\r\n")
        self.status = status
        self.headers = headers
        self.head_sent = True
        return b"".join(out)

    def data(self, data: bytes) -> bytes:
        if not self.head_sent or self.finished:
            raise LocalProtocolError("body data outside a response")
        if not data:
            return b""
        mode = self.mode
        if mode == CHUNKED:
            self.body_bytes += len(data)
            return b"%x\r\n%b\r\n" % (len(data), data)
        if mode == LENGTH:
            if len(data) > self.remaining:
                # More than the declared length: send what was declared, then close.
                data = data[: self.remaining]
                self.overrun = True
                self.keep_alive = False
            self.remaining -= len(data)
            self.body_bytes += len(data)
            return data
        if mode == UNTIL_CLOSE:
            self.body_bytes += len(data)
            return data
        return b""  # NO_BODY: the body of a HEAD / 204 / 304 is never sent

    def chunk_prefix(self, size: int) -> bytes:
        """Framing before ``size`` body bytes sent out of band (sendfile)."""
        if self.mode == CHUNKED:
            return b"%x\r\n" % size
        return b""

    def chunk_suffix(self) -> bytes:
        return b"\r\n" if self.mode == CHUNKED else b""

    def account(self, size: int) -> int:
        """Record ``size`` body bytes sent out of band; returns how many may be sent."""
        if self.mode == NO_BODY:
            return 0
        if self.mode == LENGTH:
            if size > self.remaining:
                size = self.remaining
                self.overrun = True
                self.keep_alive = False
            self.remaining -= size
        self.body_bytes += size
        return size

    def eom(self) -> bytes:
        if not self.head_sent:
            raise LocalProtocolError("end of response before its head")
        if self.finished:
            return b""
        self.finished = True
        if self.mode == CHUNKED:
            return b"0\r\n\r\n"
        if self.mode == LENGTH and self.remaining:
            # Fewer bytes than declared: the client can only tell by the close.
            self.keep_alive = False
        return b""


def error_response(status: int, reason: str) -> bytes:
    """A complete, self-contained error response that closes the connection."""
    body = f"{status} {reason}\n".encode("latin-1")
    return b"".join(
        (
            f"HTTP/1.1 {status} {reason}\r\n".encode("latin-1"),
            b"Content-Type: text/plain; charset=utf-8\r\n",
            b"Content-Length: %d\r\n" % len(body),
            b"Date: " + http_date() + b"\r\n",
            b"Server: " + SERVER_HEADER + b"\r\n",
            b"Connection: close\r\n\r\n",
            body,
        )
    )
