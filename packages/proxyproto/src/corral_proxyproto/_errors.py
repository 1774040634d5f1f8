"""The one exception family raised by this package.

Every problem with the bytes a peer sent is reported as a subclass of
:class:`ProxyProtocolError`; nothing else escapes :meth:`Parser.feed` or
:func:`parse`.  A server can therefore do::

    try:
        result = parser.feed(data)
    except ProxyProtocolError as exc:
        log.warning("bad PROXY header from %s: %s", peer, exc)
        close_connection()

Section names in the docstrings refer to HAProxy's ``doc/proxy-protocol.txt``.
"""

from __future__ import annotations

__all__ = [
    "ChecksumMismatch",
    "HeaderTooLong",
    "IncompleteHeader",
    "InvalidAddressFamily",
    "InvalidCommand",
    "InvalidSignature",
    "InvalidTLV",
    "InvalidV1Header",
    "MalformedTLV",
    "NotProxyProtocol",
    "ParserStateError",
    "ProxyProtocolError",
    "TLVOverrun",
    "TruncatedHeader",
    "UniqueIdTooLong",
    "UnsupportedVersion",
    "VersionNotAllowed",
]


class ProxyProtocolError(Exception):
    """Base class: the connection presented an unacceptable PROXY header.

    Section 2.1: "Any sequence which does not exactly match the protocol must
    be discarded and cause the receiver to abort the connection."
    """


class NotProxyProtocol(ProxyProtocolError):
    """The first bytes match neither the v1 ``PROXY`` string nor the v2 signature.

    Section 2.2 (version detection): "otherwise the protocol is not covered by
    this specification and the connection must be dropped."
    """


#: Alias: the input does not begin with a PROXY protocol signature.
InvalidSignature = NotProxyProtocol


class VersionNotAllowed(ProxyProtocolError):
    """A well-formed start of a version the parser was configured to refuse.

    Section 5 (Security considerations): the receiver must rely on its
    configuration, so a v2 header on a v1-only listener (and vice versa) is an
    error rather than something to guess about.
    """


class InvalidV1Header(ProxyProtocolError):
    """The human-readable line does not exactly match section 2.1."""


class HeaderTooLong(ProxyProtocolError):
    """The header exceeds the size limit.

    v1 (section 2.1): "If the CRLF sequence is not found in the first 107
    characters, the receiver should declare the line invalid."  v2: the declared
    length exceeds the parser's configured ``max_header_size``.
    """


class UnsupportedVersion(ProxyProtocolError):
    """The v2 version nibble is not 2 (section 2.2: "the receiver must only accept this value")."""


class InvalidCommand(ProxyProtocolError):
    """The v2 command nibble is neither LOCAL nor PROXY.

    Section 2.2: "Receivers must drop connections presenting unexpected values here."
    """


class InvalidAddressFamily(ProxyProtocolError):
    """The v2 family/transport byte uses an undefined family or transport.

    Section 2.2: "other values are unspecified ... and must be rejected as
    invalid by receivers."
    """


class TruncatedHeader(ProxyProtocolError):
    """The v2 declared length is shorter than the address block its family needs."""


class IncompleteHeader(ProxyProtocolError):
    """:func:`parse` was given fewer bytes than a complete header needs.

    Section 2.2: "The receiver must also reject incoming connections containing
    partial protocol headers."  (The incremental :class:`Parser` answers
    ``NEED_DATA`` instead.)
    """


class InvalidTLV(ProxyProtocolError):
    """Base class for problems inside the v2 TLV vectors (section 2.2)."""


class TLVOverrun(InvalidTLV):
    """A TLV (or an SSL sub-TLV) claims more bytes than its parent holds."""


class MalformedTLV(InvalidTLV):
    """A registered TLV's value does not have the form section 2.2.x defines."""


class UniqueIdTooLong(InvalidTLV):
    """PP2_TYPE_UNIQUE_ID longer than 128 bytes (section 2.2.5)."""


class ChecksumMismatch(ProxyProtocolError):
    """PP2_TYPE_CRC32C does not match the header (section 2.2.3).

    "If it is not, the receiver MUST treat the TCP connection providing the
    header as invalid."
    """


class ParserStateError(ProxyProtocolError, RuntimeError):
    """:meth:`Parser.feed` was called after the parser finished or failed."""
