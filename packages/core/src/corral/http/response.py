"""Response serialisation: status line, headers, and body framing (RFC 9112 §6)."""

from __future__ import annotations

import time
from email.utils import formatdate
from typing import Any

from ..memo import remember
from .events import LocalProtocolError, Request

SERVER_HEADER = b"corral"

# Body framing of a response.
NO_BODY = 0  # HEAD, 1xx, 204, 304 (RFC 9110 §6.4.1)
LENGTH = 1  # Content-Length given by the application
CHUNKED = 2  # HTTP/1.1 without a length
UNTIL_CLOSE = 3  # HTTP/1.0 without a length: the end of the body is the close

_date_cache: tuple[int, bytes] = (0, b"")
_tail_cache: tuple[int, bytes] = (0, b"")
_SERVER_LINE = b"Server: " + SERVER_HEADER + b"\r\n"


def http_date() -> bytes:
    """The ``Date`` header value, formatted once per second (RFC 9110 §5.6.7)."""
    global _date_cache
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache = (now, formatdate(now, usegmt=True).encode("ascii"))
    return _date_cache[1]


def _common_tail() -> bytes:
    """``Date``, ``Server`` and the empty line: the end of most heads, once per second."""
    global _tail_cache
    now = int(time.time())
    if _tail_cache[0] != now:
        _tail_cache = (now, b"Date: " + http_date() + b"\r\n" + _SERVER_LINE + b"\r\n")
    return _tail_cache[1]


def _bad_field(text: str) -> bool:
    return "\r" in text or "\n" in text or "\0" in text


# Response field names the writer acts on (by lower-case name); every other name is 0.
_F_OTHER, _F_LENGTH, _F_CODING, _F_CONNECTION, _F_DATE, _F_SERVER = range(6)
_SPECIAL_NAMES = {
    "content-length": _F_LENGTH,
    "transfer-encoding": _F_CODING,
    "connection": _F_CONNECTION,
    "date": _F_DATE,
    "server": _F_SERVER,
}
# Field names already checked (no CR, LF, NUL or ":"; not empty), and what they are.
# Applications send the same few names on every response; bounded all the same.
_checked_names: dict[str, int] = {}
_CHECKED_NAMES_SIZE = 1024
# Field lines already checked and encoded, by (name, value), with their kind (other, Date
# or Server); Content-Length values already parsed. Applications send the same few
# fields on every response; a flood of distinct ones only empties the caches now and then.
_field_lines: dict[tuple[str, str], tuple[int, bytes]] = {}
_content_lengths: dict[str, int] = {}
_CACHE_SIZE = 1024
_CACHED_LINE = 512  # longer field lines are encoded afresh each time (memory stays bounded)
# Heads already framed (everything before Date, Server and the empty line), with the body
# framing they chose, by (status, reason, HEAD request, *fields), for keep-alive HTTP/1.1
# requests and heads that end with the common tail. Bounded like the caches above.
_known_heads: dict[tuple[Any, ...], tuple[bytes, int, int]] = {}
_KNOWN_HEADS = 256
_KNOWN_HEAD = 1024
# Status lines already checked and encoded, by (status, reason).
_status_lines: dict[tuple[int, str], bytes] = {}
_STATUS_LINES_SIZE = 256


def _name_kind(name: str, value: str) -> int:
    """What the field ``name`` is to the writer; raises for a name that cannot be sent."""
    if _bad_field(name) or ":" in name or not name:
        raise LocalProtocolError(f"invalid response header {name!r}: {value!r}")
    kind = _SPECIAL_NAMES.get(name.lower(), _F_OTHER)
    if len(_checked_names) < _CHECKED_NAMES_SIZE and type(name) is str and len(name) <= 256:
        _checked_names[name] = kind
    return kind


def _status_line(status: int, reason: str) -> bytes:
    key = (status, reason)
    line = _status_lines.get(key)
    if line is None:
        if not 100 <= status <= 999 or _bad_field(reason):
            raise LocalProtocolError(f"invalid status {status} {reason!r}")
        line = f"HTTP/1.1 {status} {reason}\r\n".encode("latin-1")
        if (
            len(_status_lines) < _STATUS_LINES_SIZE
            and type(status) is int
            and type(reason) is str
            and len(reason) <= 256
        ):
            _status_lines[key] = line
    return line


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
        return b"".join(self._head(status, reason, headers))

    def _head(self, status: int, reason: str, headers: list[tuple[str, str]]) -> list[bytes]:
        """The pieces of the head (see :meth:`head`)."""
        if self.head_sent:
            raise LocalProtocolError("response already started")
        request = self.request
        key: tuple[Any, ...] | None = None
        if self.keep_alive and request.http_version == "1.1":
            # A head already framed for the same status, fields and kind of request.
            key = (status, reason, request.method == b"HEAD", *headers)
            try:
                known = _known_heads.get(key)
            except TypeError:  # something unhashable: not a head to remember
                known = key = None
            if known is not None:
                prefix, self.mode, self.remaining = known
                self.status = status
                self.headers = headers
                self.head_sent = True
                return [prefix, _common_tail()]
        status_line = _status_line(status, reason)
        length: int | None = None
        has_date = has_server = False
        kinds = _checked_names
        cached_line = _field_lines.get
        out = [status_line]
        append = out.append
        for item in headers:
            cached = cached_line(item)
            if cached is not None:
                cached_kind, line = cached
                if cached_kind:
                    if cached_kind == _F_DATE:
                        has_date = True
                    else:
                        has_server = True
                append(line)
                continue
            name, value = item
            kind = kinds.get(name)
            if kind is None:
                kind = _name_kind(name, value)
            if kind == _F_LENGTH:
                known_length = _content_lengths.get(value)  # values already checked
                if known_length is None:
                    if _bad_field(value):
                        raise LocalProtocolError(f"invalid response header {name!r}: {value!r}")
                    text = value.strip()
                    if not text.isdigit():
                        raise LocalProtocolError(f"invalid Content-Length {value!r}")
                    length = int(text)
                    if type(value) is str and len(value) <= 32:
                        remember(_content_lengths, value, length, _CACHE_SIZE)
                else:
                    length = known_length
                continue  # written below, once
            if _bad_field(value):
                raise LocalProtocolError(f"invalid response header {name!r}: {value!r}")
            if kind == _F_CODING:
                # Framing is the server's job (PEP 3333: hop-by-hop headers are ours); the
                # server always chooses the framing itself.
                continue
            if kind == _F_CONNECTION:
                if "close" in value.lower():
                    self.keep_alive = False
                continue
            if kind == _F_DATE:
                has_date = True
            elif kind == _F_SERVER:
                has_server = True
            line = f"{name}: {value}\r\n".encode("latin-1")
            if (
                len(line) <= _CACHED_LINE
                and type(item) is tuple
                and type(name) is str
                and type(value) is str
            ):
                remember(_field_lines, item, (kind, line), _CACHE_SIZE)
            append(line)
        append_bytes = append

        if request.method == b"HEAD" or status < 200 or status in (204, 304):
            self.mode = NO_BODY
            if length is not None and status != 204:
                append_bytes(b"Content-Length: %d\r\n" % length)
        elif length is not None:
            self.mode = LENGTH
            self.remaining = length
            append_bytes(b"Content-Length: %d\r\n" % length)
        elif request.http_version == "1.1":
            self.mode = CHUNKED
            append_bytes(b"Transfer-Encoding: chunked\r\n")
        else:
            self.mode = UNTIL_CLOSE
            self.keep_alive = False

        if self.keep_alive and request.http_version == "1.1" and not has_date and not has_server:
            if key is not None:
                prefix = b"".join(out)
                if len(prefix) <= _KNOWN_HEAD:
                    remember(_known_heads, key, (prefix, self.mode, self.remaining), _KNOWN_HEADS)
            append_bytes(_common_tail())
        else:
            if not has_date:
                append_bytes(b"Date: " + http_date() + b"\r\n")
            if not has_server:
                append_bytes(_SERVER_LINE)
            if not self.keep_alive:
                append_bytes(b"Connection: close\r\n")
            elif request.http_version == "1.0":
                append_bytes(b"Connection: keep-alive\r\n")
            append_bytes(b"\r\n")
        self.status = status
        self.headers = headers
        self.head_sent = True
        return out

    def complete(
        self, status: int, reason: str, headers: list[tuple[str, str]], data: bytes
    ) -> bytes:
        """:meth:`head`, :meth:`data` and :meth:`eom` at once: a whole response."""
        out = self._head(status, reason, headers)
        if data:
            if self.mode == LENGTH and len(data) <= self.remaining:
                self.remaining -= len(data)
                self.body_bytes += len(data)
                out.append(data)
            else:
                out.append(self.data(data))
        if self.mode == LENGTH and not self.remaining:
            self.finished = True  # what eom() does here
        else:
            out.append(self.eom())
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
