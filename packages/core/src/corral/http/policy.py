"""How a parsed request head is judged: framing, keep-alive, and parser-error mapping.

llhttp (through httptools) does the tokenising and rejects most malformed syntax. This
module turns what it parsed into a :class:`Request` and decides what llhttp leaves to the
server. Every worker goes through it, so every worker reaches the same verdict.
"""

from __future__ import annotations

import httptools

from .events import Headers, ProtocolError, Request
from .limits import Limits

_SUPPORTED_VERSIONS = ("1.0", "1.1")


def _tokens(value: bytes) -> set[bytes]:
    return {part.strip().lower() for part in value.split(b",") if part.strip()}


def build_request(
    method: bytes, target: bytes, version: str, headers: Headers, limits: Limits
) -> Request:
    """Judge a complete request head; raise :class:`ProtocolError` to reject it."""
    if version not in _SUPPORTED_VERSIONS:
        # RFC 9110 §15.6.6: 505 for a major version the server does not support.
        raise ProtocolError(505, "HTTP Version Not Supported", f"HTTP/{version}")

    content_length: int | None = None
    transfer_encoding: list[bytes] = []
    connection: set[bytes] = set()
    expect = b""
    for name, value in headers:
        lname = name.lower()
        if lname == b"content-length":
            # RFC 9112 §6.3: an invalid Content-Length is unrecoverable.
            stripped = value.strip()
            if not stripped.isdigit() or len(stripped) > 18:
                raise ProtocolError(400, "Bad Request", "invalid Content-Length")
            length = int(stripped)
            if content_length is not None and content_length != length:
                raise ProtocolError(400, "Bad Request", "conflicting Content-Length")
            content_length = length
        elif lname == b"transfer-encoding":
            transfer_encoding.extend(
                part.strip().lower() for part in value.split(b",") if part.strip()
            )
        elif lname == b"connection":
            connection |= _tokens(value)
        elif lname == b"expect":
            expect = value.strip().lower()

    chunked = False
    if transfer_encoding:
        # RFC 9112 §6.1: a request whose final coding is not chunked cannot be framed.
        if transfer_encoding[-1] != b"chunked":
            raise ProtocolError(400, "Bad Request", "final transfer coding is not chunked")
        chunked = True
        content_length = None  # RFC 9112 §6.3 rule 3 (llhttp rejects the combination)

    if version == "1.1":
        keep_alive = b"close" not in connection
    else:
        keep_alive = b"keep-alive" in connection and b"close" not in connection

    return Request(
        method=method,
        target=target,
        http_version=version,
        headers=headers,
        keep_alive=keep_alive,
        expect_continue=version == "1.1" and expect == b"100-continue",
        content_length=content_length,
        chunked=chunked,
    )


def check_trailers(trailers: Headers) -> None:
    """Trailers are kept apart from the head; nothing here needs rejecting yet."""
    del trailers


def parser_error(exc: httptools.HttpParserError) -> ProtocolError:
    """Map an llhttp error to the response the peer gets."""
    detail = str(exc) or type(exc).__name__
    if isinstance(exc, httptools.HttpParserInvalidMethodError):
        return ProtocolError(400, "Bad Request", f"invalid method: {detail}")
    return ProtocolError(400, "Bad Request", detail)
