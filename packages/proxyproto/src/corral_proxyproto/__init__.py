"""corral-proxyproto: a sans-IO PROXY protocol v1/v2 codec.

Follows HAProxy's ``doc/proxy-protocol.txt``; see README.md for the API.
"""

from ._crc32c import crc32c
from ._errors import (
    ChecksumMismatch,
    HeaderTooLong,
    IncompleteHeader,
    InvalidAddressFamily,
    InvalidCommand,
    InvalidSignature,
    InvalidTLV,
    InvalidV1Header,
    MalformedTLV,
    NotProxyProtocol,
    ParserStateError,
    ProxyProtocolError,
    TLVOverrun,
    TruncatedHeader,
    UniqueIdTooLong,
    UnsupportedVersion,
    VersionNotAllowed,
)
from ._header import Command, Family, InetAddress, ProxyHeader, Transport, UnixAddress
from ._parser import NEED_DATA, NeedData, Parsed, Parser, Versions, parse
from ._tlv import (
    CRC32CTLV,
    SSLTLV,
    TLV,
    AlpnTLV,
    AuthorityTLV,
    CustomTLV,
    NetnsTLV,
    NoopTLV,
    SSLClient,
    TLVType,
    UniqueIdTLV,
    make_ssl_tlv,
)
from ._v1 import build_v1
from ._v2 import DEFAULT_MAX_V2_SIZE, build_v2

__version__ = "0.1.0"

__all__ = [
    "CRC32CTLV",
    "DEFAULT_MAX_V2_SIZE",
    "NEED_DATA",
    "SSLTLV",
    "TLV",
    "AlpnTLV",
    "AuthorityTLV",
    "ChecksumMismatch",
    "Command",
    "CustomTLV",
    "Family",
    "HeaderTooLong",
    "IncompleteHeader",
    "InetAddress",
    "InvalidAddressFamily",
    "InvalidCommand",
    "InvalidSignature",
    "InvalidTLV",
    "InvalidV1Header",
    "MalformedTLV",
    "NeedData",
    "NetnsTLV",
    "NoopTLV",
    "NotProxyProtocol",
    "Parsed",
    "Parser",
    "ParserStateError",
    "ProxyHeader",
    "ProxyProtocolError",
    "SSLClient",
    "TLVOverrun",
    "TLVType",
    "Transport",
    "TruncatedHeader",
    "UniqueIdTLV",
    "UniqueIdTooLong",
    "UnixAddress",
    "UnsupportedVersion",
    "VersionNotAllowed",
    "Versions",
    "build_v1",
    "build_v2",
    "crc32c",
    "make_ssl_tlv",
    "parse",
]
