"""The incremental, sans-IO parser.

One :class:`Parser` per connection.  Feed it whatever ``recv()`` returned; it
answers :data:`NEED_DATA`, or :class:`Parsed` (the header plus every byte that
followed it, untouched), or raises a :class:`ProxyProtocolError`.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Literal

from ._errors import (
    IncompleteHeader,
    NotProxyProtocol,
    ParserStateError,
    ProxyProtocolError,
    VersionNotAllowed,
)
from ._header import ProxyHeader
from ._v1 import try_parse_v1
from ._v2 import DEFAULT_MAX_V2_SIZE, V2_SIGNATURE, try_parse_v2

__all__ = ["NEED_DATA", "NeedData", "Parsed", "Parser", "Versions", "parse"]


class Versions(enum.Enum):
    """Which header versions a listener accepts.

    Section 2: "Version 2 receivers MUST at least implement the binary header
    format, and it is recommended that they also implement the human-readable
    header format"; section 5: rely "only ... on a configuration parameter".
    """

    V1 = "v1"
    V2 = "v2"
    AUTO = "auto"


class NeedData(enum.Enum):
    """The sentinel type of :data:`NEED_DATA`."""

    NEED_DATA = "NEED_DATA"


#: Returned by :meth:`Parser.feed` while the header is not complete yet.
NEED_DATA: Final = NeedData.NEED_DATA


@dataclass(frozen=True, slots=True)
class Parsed:
    """A complete header and the bytes that followed it (never consumed)."""

    header: ProxyHeader
    remaining: bytes


# Section 2.2 ("Identifying the protocol version is easy"): the v2 signature,
# or the five characters "PROXY" for v1.
_V1_MAGIC = b"PROXY"

_OPEN, _DONE, _FAILED = 0, 1, 2

# Parsed(...) without the frozen-dataclass __init__ (see _header.new_header).
_new = object.__new__
_set_header: Callable[[object, object], None] = Parsed.__dict__["header"].__set__
_set_remaining: Callable[[object, object], None] = Parsed.__dict__["remaining"].__set__


class Parser:
    """Incremental PROXY protocol v1/v2 parser for one connection.

    :param versions: which versions to accept (default: both, told apart by
        their first bytes).
    :param max_header_size: upper bound for a v2 header (16-byte fixed part +
        declared length); a v1 header is always limited to 107 bytes.
    """

    __slots__ = ("_buf", "_kind", "_max", "_state", "_versions")

    def __init__(
        self, versions: Versions = Versions.AUTO, *, max_header_size: int = DEFAULT_MAX_V2_SIZE
    ) -> None:
        if max_header_size < 16:
            raise ValueError("max_header_size must be at least 16 (the v2 fixed part)")
        self._versions = versions
        self._max = max_header_size
        self._buf = b""
        self._kind: Literal[0, 1, 2] = 0
        self._state = _OPEN

    def feed(self, data: bytes | bytearray | memoryview) -> Parsed | Literal[NeedData.NEED_DATA]:
        """Add received bytes; see the class docstring for the three outcomes."""
        if self._state:
            raise ParserStateError(
                "feed() after the header was parsed"
                if self._state == _DONE
                else "feed() after the parser reported an error"
            )
        buf = self._buf + bytes(data) if self._buf else bytes(data)
        try:
            kind = self._kind or self._detect(buf)
            if kind == 1:
                result = try_parse_v1(buf)
            elif kind == 2:
                result = try_parse_v2(buf, self._max)
            else:
                result = None
        except ProxyProtocolError:
            self._state = _FAILED
            self._buf = b""
            raise
        if result is None:
            self._buf = buf
            return NEED_DATA
        self._state = _DONE
        self._buf = b""
        header, length = result
        parsed: Parsed = _new(Parsed)
        _set_header(parsed, header)
        _set_remaining(parsed, buf[length:])
        return parsed

    @property
    def buffered(self) -> int:
        """How many bytes are held while waiting for the rest of the header."""
        return len(self._buf)

    def _detect(self, buf: bytes) -> Literal[0, 1, 2]:
        # The common case first: the whole signature is in the first read.
        if buf.startswith(_V1_MAGIC):
            if self._versions is Versions.V2:
                raise VersionNotAllowed("received a PROXY v1 line, only v2 is accepted")
            self._kind = 1
            return 1
        if buf.startswith(V2_SIGNATURE):
            if self._versions is Versions.V1:
                raise VersionNotAllowed("received a PROXY v2 signature, only v1 is accepted")
            self._kind = 2
            return 2
        # Otherwise *buf* must still be a prefix of one of the two signatures.
        if buf[:1] == b"\r":
            k = min(len(buf), 12)
            if buf[:k] != V2_SIGNATURE[:k]:
                raise NotProxyProtocol(f"{buf[:k]!r} is not the v2 signature")
            return 0
        k = min(len(buf), 5)
        if buf[:k] != _V1_MAGIC[:k]:
            raise NotProxyProtocol(f"{buf[:k]!r} begins neither 'PROXY' nor the v2 signature")
        return 0


def parse(
    data: bytes | bytearray | memoryview,
    versions: Versions = Versions.AUTO,
    *,
    max_header_size: int = DEFAULT_MAX_V2_SIZE,
) -> Parsed:
    """Parse a header from bytes already received in full.

    Raises :class:`IncompleteHeader` if *data* ends before the header does.
    """
    result = Parser(versions, max_header_size=max_header_size).feed(data)
    if result is NEED_DATA:
        raise IncompleteHeader(f"{len(data)} byte(s) do not hold a complete PROXY header")
    return result
