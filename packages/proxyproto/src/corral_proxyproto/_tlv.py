"""PROXY v2 Type-Length-Value vectors (section 2.2 and its subsections).

Every TLV is a frozen dataclass deriving from :class:`TLV` (``type`` and the raw
``value`` bytes); the registered types add decoded fields.  Unknown types are
kept as plain :class:`TLV` ("A receiver may choose to skip over and ignore the
TLVs it is not interested in or it does not understand", section 2.2).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from ._errors import MalformedTLV, TLVOverrun, UniqueIdTooLong

__all__ = [
    "CRC32CTLV",
    "PP2_TYPE_AWS",
    "PP2_TYPE_AZURE",
    "PP2_TYPE_GCP",
    "SSLTLV",
    "TLV",
    "AlpnTLV",
    "AuthorityTLV",
    "CustomTLV",
    "NetnsTLV",
    "NoopTLV",
    "SSLClient",
    "TLVType",
    "UniqueIdTLV",
    "decode_tlvs",
    "encode_tlvs",
    "make_ssl_tlv",
]


class TLVType(enum.IntEnum):
    """Registered ``<type>`` values.

    Section 2.2: "The following types have already been registered".
    """

    ALPN = 0x01
    AUTHORITY = 0x02
    CRC32C = 0x03
    NOOP = 0x04
    UNIQUE_ID = 0x05
    SSL = 0x20
    SSL_VERSION = 0x21
    SSL_CN = 0x22
    SSL_CIPHER = 0x23
    SSL_SIG_ALG = 0x24
    SSL_KEY_ALG = 0x25
    # Newer second-level SSL subtypes listed by the current revision of
    # section 2.2 / 2.2.6 (PP2_SUBTYPE_SSL_GROUP, _SIG_SCHEME, _CLIENT_CERT).
    SSL_GROUP = 0x26
    SSL_SIG_SCHEME = 0x27
    SSL_CLIENT_CERT = 0x28
    NETNS = 0x30


# Section 2.2.8, "Reserved type ranges": application-specific data.
PP2_TYPE_MIN_CUSTOM = 0xE0
PP2_TYPE_MAX_CUSTOM = 0xEF

# Cloud vendors' application-specific types inside that range.
# AWS Elastic Load Balancing (Network Load Balancer user guide, "Proxy protocol"
# -> "VPC endpoint ID"): type PP2_TYPE_AWS 0xEA, subtype PP2_SUBTYPE_AWS_VPCE_ID
# 0x01 followed by the endpoint id as US-ASCII text.
PP2_TYPE_AWS = 0xEA
PP2_SUBTYPE_AWS_VPCE_ID = 0x01
# Azure Private Link service overview, "Getting connection information using
# TCP Proxy v2": type 0xEE, subtype PP2_SUBTYPE_AZURE_PRIVATEENDPOINT_LINKID 0x01
# followed by the LinkID as a UINT32 in little-endian order.
PP2_TYPE_AZURE = 0xEE
PP2_SUBTYPE_AZURE_PRIVATEENDPOINT_LINKID = 0x01
# Google Cloud Private Service Connect, "PROXY protocol for published
# services": type 0xE0 carrying the pscConnectionId as an 8-byte unsigned
# integer in network byte order.
PP2_TYPE_GCP = 0xE0

# Section 2.2.5: "an opaque byte sequence of up to 128 bytes".
UNIQUE_ID_MAX = 128


class SSLClient(enum.IntFlag):
    """The ``client`` bit field of ``pp2_tlv_ssl`` (section 2.2.6)."""

    SSL = 0x01
    CERT_CONN = 0x02
    CERT_SESS = 0x04


@dataclass(frozen=True, slots=True)
class TLV:
    """One type-length-value vector: ``struct pp2_tlv`` (section 2.2)."""

    type: int
    value: bytes


@dataclass(frozen=True, slots=True)
class AlpnTLV(TLV):
    """PP2_TYPE_ALPN (2.2.1): the negotiated application protocol, a byte sequence."""

    @property
    def protocol(self) -> bytes:
        return self.value


@dataclass(frozen=True, slots=True)
class AuthorityTLV(TLV):
    """PP2_TYPE_AUTHORITY (2.2.2): host name (e.g. TLS SNI), UTF-8."""

    host: str


@dataclass(frozen=True, slots=True)
class CRC32CTLV(TLV):
    """PP2_TYPE_CRC32C (2.2.3): the 32-bit checksum, already verified by the parser."""

    checksum: int


@dataclass(frozen=True, slots=True)
class NoopTLV(TLV):
    """PP2_TYPE_NOOP (2.2.4): padding, "should be ignored when parsed"."""


@dataclass(frozen=True, slots=True)
class UniqueIdTLV(TLV):
    """PP2_TYPE_UNIQUE_ID (2.2.5): opaque id of at most 128 bytes."""

    @property
    def unique_id(self) -> bytes:
        return self.value


@dataclass(frozen=True, slots=True)
class NetnsTLV(TLV):
    """PP2_TYPE_NETNS (2.2.7): the namespace name, US-ASCII."""

    name: str


@dataclass(frozen=True, slots=True)
class CustomTLV(TLV):
    """A type in 0xE0-0xEF (2.2.8, "reserved for application-specific data"), kept raw."""


@dataclass(frozen=True, slots=True)
class SSLTLV(TLV):
    """PP2_TYPE_SSL (2.2.6): ``struct pp2_tlv_ssl`` and its second-level TLVs.

    ``sub_tlvs`` keeps every sub-TLV in order (unknown ones as plain
    :class:`TLV`); the registered ones are also decoded into the fields below
    (the first occurrence wins).
    """

    client: SSLClient
    verify: int
    sub_tlvs: tuple[TLV, ...]
    version: str | None = None
    cn: str | None = None
    cipher: str | None = None
    sig_alg: str | None = None
    key_alg: str | None = None
    group: str | None = None
    sig_scheme: str | None = None
    client_cert: bytes | None = None

    @property
    def ssl(self) -> bool:
        """PP2_CLIENT_SSL: "the client connected over SSL/TLS"."""
        return bool(self.client & SSLClient.SSL)

    @property
    def verified(self) -> bool:
        """Section 2.2.6: <verify> "will be zero if the client presented a
        certificate and it was successfully verified, and non-zero otherwise"."""
        return self.verify == 0


def _ascii(tlv_type: int, value: bytes) -> str:
    # Section 2.2.6/2.2.7 describe these values as "US-ASCII string".
    try:
        return value.decode("ascii")
    except UnicodeDecodeError:
        raise MalformedTLV(f"TLV 0x{tlv_type:02X} is not US-ASCII") from None


def _utf8(tlv_type: int, value: bytes) -> str:
    # Section 2.2.2 (AUTHORITY) and 2.2.6 (CN): "UTF8-encoded string".
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedTLV(f"TLV 0x{tlv_type:02X} is not UTF-8") from None


def _split(data: bytes, start: int, end: int, what: str) -> list[tuple[int, bytes]]:
    """Split ``data[start:end]`` into (type, value) pairs.

    Section 2.2 ``struct pp2_tlv``: one type byte, two length bytes (network
    order), then ``length`` bytes of value.  Anything that does not fit inside
    the parent is an overrun.
    """
    out: list[tuple[int, bytes]] = []
    pos = start
    while pos < end:
        if end - pos < 3:
            raise TLVOverrun(f"{end - pos} trailing byte(s) in {what} cannot hold a TLV header")
        length = (data[pos + 1] << 8) | data[pos + 2]
        value_end = pos + 3 + length
        if value_end > end:
            raise TLVOverrun(
                f"TLV 0x{data[pos]:02X} at offset {pos} declares {length} byte(s) "
                f"but {what} has only {end - pos - 3} left"
            )
        out.append((data[pos], data[pos + 3 : value_end]))
        pos = value_end
    return out


_SSL_CLIENT = tuple(SSLClient(i) for i in range(256))

_SSL_STR_FIELDS = {
    TLVType.SSL_VERSION: ("version", _ascii),
    TLVType.SSL_CN: ("cn", _utf8),
    TLVType.SSL_CIPHER: ("cipher", _ascii),
    TLVType.SSL_SIG_ALG: ("sig_alg", _ascii),
    TLVType.SSL_KEY_ALG: ("key_alg", _ascii),
    TLVType.SSL_GROUP: ("group", _ascii),
    TLVType.SSL_SIG_SCHEME: ("sig_scheme", _ascii),
}


def _decode_ssl(value: bytes) -> SSLTLV:
    # Section 2.2.6: struct pp2_tlv_ssl { uint8_t client; uint32_t verify;
    # struct pp2_tlv sub_tlv[0]; }
    if len(value) < 5:
        raise MalformedTLV(f"PP2_TYPE_SSL needs at least 5 bytes, got {len(value)}")
    client = _SSL_CLIENT[value[0]]
    verify = int.from_bytes(value[1:5], "big")
    subs: list[TLV] = []
    fields: dict[str, str] = {}
    client_cert: bytes | None = None
    for sub_type, sub_value in _split(value, 5, len(value), "PP2_TYPE_SSL"):
        entry = _SSL_STR_FIELDS.get(sub_type)  # type: ignore[call-overload]
        if entry is not None:
            name, decode = entry
            text = decode(sub_type, sub_value)
            fields.setdefault(name, text)
        elif sub_type == TLVType.SSL_CLIENT_CERT and client_cert is None:
            client_cert = sub_value
        subs.append(TLV(sub_type, sub_value))
    return SSLTLV(
        0x20,
        value,
        client,
        verify,
        tuple(subs),
        client_cert=client_cert,
        **fields,
    )


def _decode_one(tlv_type: int, value: bytes) -> TLV:
    if tlv_type == TLVType.ALPN:
        return AlpnTLV(tlv_type, value)
    if tlv_type == TLVType.AUTHORITY:
        return AuthorityTLV(tlv_type, value, _utf8(tlv_type, value))
    if tlv_type == TLVType.CRC32C:
        # Section 2.2.3: "a 32-bit number".
        if len(value) != 4:
            raise MalformedTLV(f"PP2_TYPE_CRC32C must be 4 bytes, got {len(value)}")
        return CRC32CTLV(tlv_type, value, int.from_bytes(value, "big"))
    if tlv_type == TLVType.NOOP:
        return NoopTLV(tlv_type, value)
    if tlv_type == TLVType.UNIQUE_ID:
        if len(value) > UNIQUE_ID_MAX:
            raise UniqueIdTooLong(
                f"PP2_TYPE_UNIQUE_ID is {len(value)} bytes, section 2.2.5 allows {UNIQUE_ID_MAX}"
            )
        return UniqueIdTLV(tlv_type, value)
    if tlv_type == TLVType.SSL:
        return _decode_ssl(value)
    if tlv_type == TLVType.NETNS:
        return NetnsTLV(tlv_type, value, _ascii(tlv_type, value))
    if PP2_TYPE_MIN_CUSTOM <= tlv_type <= PP2_TYPE_MAX_CUSTOM:
        return CustomTLV(tlv_type, value)
    return TLV(tlv_type, value)


def decode_tlvs(data: bytes, start: int, end: int) -> tuple[tuple[TLV, ...], int | None]:
    """Decode the TLVs in ``data[start:end]``.

    Returns the TLVs and the offset (into *data*) of the CRC32C value if a
    PP2_TYPE_CRC32C vector was present, so the caller can verify it over the
    whole header.
    """
    tlvs: list[TLV] = []
    crc_offset: int | None = None
    pos = start
    for tlv_type, value in _split(data, start, end, "the header"):
        tlv = _decode_one(tlv_type, value)
        if tlv_type == TLVType.CRC32C:
            if crc_offset is not None:
                raise MalformedTLV("more than one PP2_TYPE_CRC32C vector")
            crc_offset = pos + 3
        tlvs.append(tlv)
        pos += 3 + len(value)
    return tuple(tlvs), crc_offset


def encode_tlvs(tlvs: Iterable[TLV]) -> bytes:
    """Serialise TLVs as ``struct pp2_tlv`` vectors (section 2.2)."""
    parts: list[bytes] = []
    for tlv in tlvs:
        if not 0 <= tlv.type <= 0xFF:
            raise ValueError(f"TLV type {tlv.type} does not fit in one byte")
        if len(tlv.value) > 0xFFFF:
            raise ValueError(f"TLV 0x{tlv.type:02X} value is {len(tlv.value)} bytes (max 65535)")
        parts.append(bytes((tlv.type, len(tlv.value) >> 8, len(tlv.value) & 0xFF)))
        parts.append(tlv.value)
    return b"".join(parts)


def make_ssl_tlv(
    client: int = SSLClient.SSL,
    verify: int = 0,
    *,
    version: str | None = None,
    cn: str | None = None,
    cipher: str | None = None,
    sig_alg: str | None = None,
    key_alg: str | None = None,
    group: str | None = None,
    sig_scheme: str | None = None,
    client_cert: bytes | None = None,
    extra: Iterable[TLV] = (),
) -> TLV:
    """Build a PP2_TYPE_SSL vector (section 2.2.6) for :func:`build_v2`.

    Sub-TLVs are emitted in the order of the keyword arguments, then *extra*.
    """
    subs: list[TLV] = []
    for sub_type, text, encoding in (
        (TLVType.SSL_VERSION, version, "ascii"),
        (TLVType.SSL_CN, cn, "utf-8"),
        (TLVType.SSL_CIPHER, cipher, "ascii"),
        (TLVType.SSL_SIG_ALG, sig_alg, "ascii"),
        (TLVType.SSL_KEY_ALG, key_alg, "ascii"),
        (TLVType.SSL_GROUP, group, "ascii"),
        (TLVType.SSL_SIG_SCHEME, sig_scheme, "ascii"),
    ):
        if text is not None:
            subs.append(TLV(sub_type, text.encode(encoding)))
    if client_cert is not None:
        subs.append(TLV(TLVType.SSL_CLIENT_CERT, client_cert))
    subs.extend(extra)
    head = bytes((client & 0xFF,)) + (verify & 0xFFFFFFFF).to_bytes(4, "big")
    return TLV(TLVType.SSL, head + encode_tlvs(subs))
