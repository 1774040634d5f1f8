"""The events the HTTP core hands to its user, and its errors.

A connection yields, per request: one :class:`Request` (the head), zero or more
:class:`Data` (body bytes, already de-chunked), one :class:`EndOfMessage` (with trailers).
Between requests it answers :data:`NEED_DATA` (feed more bytes), :data:`PAUSED` (finish the
response, then call ``start_next_cycle``) or :class:`ConnectionClosed` (the peer is gone).
"""

from __future__ import annotations

from dataclasses import dataclass, field

Headers = list[tuple[bytes, bytes]]


class _Sentinel:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


NEED_DATA = _Sentinel("NEED_DATA")
"""No complete event yet: feed more bytes."""

PAUSED = _Sentinel("PAUSED")
"""The request is complete; send the response, then call ``start_next_cycle()``."""


@dataclass(slots=True)
class Request:
    """A request head: everything before the body."""

    method: bytes
    target: bytes
    http_version: str  # "1.0" or "1.1"
    headers: Headers
    keep_alive: bool  # what the client asked for (HTTP/1.0 and 1.1 rules)
    expect_continue: bool
    content_length: int | None  # None when chunked or absent
    chunked: bool
    # Fields whose names contain "_", set aside by --header-map (drop), for corral.trust.
    dropped_headers: Headers = field(default_factory=list)
    upgrade: bool = False  # CONNECT, or Connection: upgrade + Upgrade (answered, then close)
    # The head's exact bytes when the connection memoises its verdict (short heads), else
    # b"": requests with the same raw_head are the same request (see corral.wsgi).
    raw_head: bytes = b""

    @property
    def has_body(self) -> bool:
        return self.chunked or bool(self.content_length)

    def header(self, name: bytes) -> bytes | None:
        """First value of a header, name matched case-insensitively (``name`` lower case)."""
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None


@dataclass(slots=True)
class Data:
    """A piece of the request body (chunked framing already removed)."""

    data: bytes


@dataclass(slots=True)
class EndOfMessage:
    """The request body is complete. Trailer fields of a chunked body, if any."""

    trailers: Headers = field(default_factory=list)


@dataclass(slots=True)
class ConnectionClosed:
    """The peer closed its side before a new request began."""


Event = Request | Data | EndOfMessage | ConnectionClosed


class ProtocolError(Exception):
    """The peer broke HTTP/1.1. ``status`` is the response to send before closing."""

    def __init__(self, status: int, reason: str, detail: str = "") -> None:
        super().__init__(f"{status} {reason}" + (f": {detail}" if detail else ""))
        self.status = status
        self.reason = reason
        self.detail = detail


class LocalProtocolError(Exception):
    """We (or the application) tried to send something HTTP/1.1 does not allow."""
