"""PROXY v2 Type-Length-Value vectors (section 2.2 and its subsections).

Every TLV is a frozen dataclass deriving from :class:`TLV` (``type`` and the raw
``value`` bytes); the registered types add decoded fields.  Unknown types are
kept as plain :class:`TLV` ("A receiver may choose to skip over and ignore the
TLVs it is not interested in or it does not understand", section 2.2).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields

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

    The parser checks the whole value when it parses the header (framing and
    text encodings, so every error is raised by ``parse``/``feed``) and
    decodes these fields when one of them is first read.
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


# The parser builds every TLV object through these makers: they set the slots
# directly instead of going through the frozen-dataclass __init__ (one
# object.__setattr__ per field), which was most of the cost of a TLV.  The
# objects are the same as ``cls(...)`` would give.
_new = object.__new__
_Setter = Callable[[object, object], None]
_set_type: _Setter = TLV.__dict__["type"].__set__
_set_value: _Setter = TLV.__dict__["value"].__set__
_Maker = Callable[[int, bytes], TLV]


def _plain_maker(cls: type[TLV]) -> _Maker:
    def make(tlv_type: int, value: bytes) -> TLV:
        tlv: TLV = _new(cls)
        _set_type(tlv, tlv_type)
        _set_value(tlv, value)
        return tlv

    return make


def _text_maker(cls: type[TLV], field: str, encoding: str, what: str) -> _Maker:
    # Section 2.2.2 (AUTHORITY) and 2.2.6 (CN): "UTF8-encoded string";
    # 2.2.6/2.2.7 describe the others as "US-ASCII string".
    set_text: _Setter = cls.__dict__[field].__set__

    def make(tlv_type: int, value: bytes) -> TLV:
        try:
            text = value.decode(encoding)
        except UnicodeDecodeError:
            raise MalformedTLV(f"TLV 0x{tlv_type:02X} is not {what}") from None
        tlv: TLV = _new(cls)
        _set_type(tlv, tlv_type)
        _set_value(tlv, value)
        set_text(tlv, text)
        return tlv

    return make


_make_tlv = _plain_maker(TLV)
_set_checksum: _Setter = CRC32CTLV.__dict__["checksum"].__set__


def _make_crc32c(tlv_type: int, value: bytes) -> TLV:
    # Section 2.2.3: "a 32-bit number".
    if len(value) != 4:
        raise MalformedTLV(f"PP2_TYPE_CRC32C must be 4 bytes, got {len(value)}")
    tlv: TLV = _new(CRC32CTLV)
    _set_type(tlv, tlv_type)
    _set_value(tlv, value)
    _set_checksum(tlv, _from_bytes(value, "big"))
    return tlv


_make_unique_id_tlv = _plain_maker(UniqueIdTLV)


def _make_unique_id(tlv_type: int, value: bytes) -> TLV:
    if len(value) > UNIQUE_ID_MAX:
        raise UniqueIdTooLong(
            f"PP2_TYPE_UNIQUE_ID is {len(value)} bytes, section 2.2.5 allows {UNIQUE_ID_MAX}"
        )
    return _make_unique_id_tlv(tlv_type, value)


def _overrun(data: bytes, pos: int, end: int, what: str) -> TLVOverrun:
    """The error for a ``struct pp2_tlv`` at *pos* that does not fit before *end*.

    Section 2.2: one type byte, two length bytes (network order), then
    ``length`` bytes of value, all inside the parent.
    """
    if end - pos < 3:
        return TLVOverrun(f"{end - pos} trailing byte(s) in {what} cannot hold a TLV header")
    length = (data[pos + 1] << 8) | data[pos + 2]
    return TLVOverrun(
        f"TLV 0x{data[pos]:02X} at offset {pos} declares {length} byte(s) "
        f"but {what} has only {end - pos - 3} left"
    )


_SSL_CLIENT = tuple(SSLClient(i) for i in range(256))
_from_bytes = int.from_bytes

# Section 2.2.6 second-level TLVs: the SSLTLV field each fills (by position:
# version, cn, cipher, sig_alg, key_alg, group, sig_scheme, client_cert) and
# its text encoding (None: kept as bytes).
_SSL_SUBTYPES: dict[int, tuple[int, str | None]] = {
    TLVType.SSL_VERSION: (0, "ascii"),
    TLVType.SSL_CN: (1, "utf-8"),
    TLVType.SSL_CIPHER: (2, "ascii"),
    TLVType.SSL_SIG_ALG: (3, "ascii"),
    TLVType.SSL_KEY_ALG: (4, "ascii"),
    TLVType.SSL_GROUP: (5, "ascii"),
    TLVType.SSL_SIG_SCHEME: (6, "ascii"),
    TLVType.SSL_CLIENT_CERT: (7, None),
}
_ssl_slots = SSLTLV.__dict__
_set_client: _Setter = _ssl_slots["client"].__set__
_set_verify: _Setter = _ssl_slots["verify"].__set__
_set_sub_tlvs: _Setter = _ssl_slots["sub_tlvs"].__set__
_set_version: _Setter = _ssl_slots["version"].__set__
_set_cn: _Setter = _ssl_slots["cn"].__set__
_set_cipher: _Setter = _ssl_slots["cipher"].__set__
_set_sig_alg: _Setter = _ssl_slots["sig_alg"].__set__
_set_key_alg: _Setter = _ssl_slots["key_alg"].__set__
_set_group: _Setter = _ssl_slots["group"].__set__
_set_sig_scheme: _Setter = _ssl_slots["sig_scheme"].__set__
_set_client_cert: _Setter = _ssl_slots["client_cert"].__set__
_ENCODING_NAMES = {"ascii": "US-ASCII", "utf-8": "UTF-8"}
_SSL_TEXT = {sub_type: encoding for sub_type, (_, encoding) in _SSL_SUBTYPES.items() if encoding}
#: The SSLTLV fields the parser leaves for _fill_ssl().
_SSL_DECODED = frozenset(field.name for field in fields(SSLTLV)) - {"type", "value"}


def _decode_ssl(tlv_type: int, value: bytes) -> TLV:
    """Validate a PP2_TYPE_SSL value completely; decode its fields later.

    Every check happens here, at parse time: the 5-byte head, the framing of
    each sub-TLV inside the SSL TLV, and the encoding of each text sub-TLV.
    The decoded fields are filled in by :func:`_fill_ssl` on first access
    (see ``SSLTLV.__getattr__``), as most servers never read them.
    """
    # Section 2.2.6: struct pp2_tlv_ssl { uint8_t client; uint32_t verify;
    # struct pp2_tlv sub_tlv[0]; }
    end = len(value)
    if end < 5:
        raise MalformedTLV(f"PP2_TYPE_SSL needs at least 5 bytes, got {end}")
    pos = 5
    while pos < end:
        sub_end = pos + 3 + ((value[pos + 1] << 8) | value[pos + 2]) if end - pos >= 3 else end + 1
        if sub_end > end:
            raise _overrun(value, pos, end, "PP2_TYPE_SSL")
        encoding = _SSL_TEXT.get(value[pos])
        if encoding is not None:
            try:
                value[pos + 3 : sub_end].decode(encoding)
            except UnicodeDecodeError:
                raise MalformedTLV(
                    f"TLV 0x{value[pos]:02X} is not {_ENCODING_NAMES[encoding]}"
                ) from None
        pos = sub_end
    tlv: TLV = _new(SSLTLV)
    _set_type(tlv, tlv_type)
    _set_value(tlv, value)
    return tlv


def _ssl_getattr(self: SSLTLV, name: str) -> object:
    # The parser validates the whole SSL value up front but leaves the decoded
    # fields' slots unset; reading an unset slot raises AttributeError, which
    # lands here on first access, and _fill_ssl() sets them all.
    if name in _SSL_DECODED:
        _fill_ssl(self)
        return object.__getattribute__(self, name)
    raise AttributeError(
        f"{type(self).__name__!r} object has no attribute {name!r}", name=name, obj=self
    )


# Attached after the class body so that type checkers do not see a
# __getattr__ (which would make every misspelt attribute type-check).
SSLTLV.__getattr__ = _ssl_getattr  # type: ignore[attr-defined]


def _fill_ssl(tlv: SSLTLV) -> None:
    """Decode the fields of an SSL TLV that :func:`_decode_ssl` validated."""
    value = tlv.value
    end = len(value)
    subs: list[TLV] = []
    # Indexed as in _SSL_SUBTYPES; the first occurrence of each wins.
    decoded: list[str | bytes | None] = [None] * 8
    pos = 5
    while pos < end:
        sub_end = pos + 3 + ((value[pos + 1] << 8) | value[pos + 2])
        sub_type = value[pos]
        sub_value = value[pos + 3 : sub_end]
        entry = _SSL_SUBTYPES.get(sub_type)
        if entry is not None and decoded[entry[0]] is None:
            index, encoding = entry
            decoded[index] = sub_value if encoding is None else sub_value.decode(encoding)
        subs.append(_make_tlv(sub_type, sub_value))
        pos = sub_end
    _set_client(tlv, _SSL_CLIENT[value[0]])
    _set_verify(tlv, _from_bytes(value[1:5], "big"))
    _set_sub_tlvs(tlv, tuple(subs))
    _set_version(tlv, decoded[0])
    _set_cn(tlv, decoded[1])
    _set_cipher(tlv, decoded[2])
    _set_sig_alg(tlv, decoded[3])
    _set_key_alg(tlv, decoded[4])
    _set_group(tlv, decoded[5])
    _set_sig_scheme(tlv, decoded[6])
    _set_client_cert(tlv, decoded[7])


def _type_maker(tlv_type: int) -> _Maker:
    if tlv_type == TLVType.ALPN:
        return _plain_maker(AlpnTLV)
    if tlv_type == TLVType.AUTHORITY:
        return _text_maker(AuthorityTLV, "host", "utf-8", "UTF-8")
    if tlv_type == TLVType.CRC32C:
        return _make_crc32c
    if tlv_type == TLVType.NOOP:
        return _plain_maker(NoopTLV)
    if tlv_type == TLVType.UNIQUE_ID:
        return _make_unique_id
    if tlv_type == TLVType.SSL:
        return _decode_ssl
    if tlv_type == TLVType.NETNS:
        return _text_maker(NetnsTLV, "name", "ascii", "US-ASCII")
    if PP2_TYPE_MIN_CUSTOM <= tlv_type <= PP2_TYPE_MAX_CUSTOM:
        return _plain_maker(CustomTLV)
    return _make_tlv


_CRC32C = int(TLVType.CRC32C)
#: The maker for each type byte (unknown types are kept as plain TLV).
_MAKERS: tuple[_Maker, ...] = tuple(_type_maker(i) for i in range(256))


def decode_tlvs(data: bytes, start: int, end: int) -> tuple[tuple[TLV, ...], int | None]:
    """Decode the TLVs in ``data[start:end]``.

    Returns the TLVs and the offset (into *data*) of the CRC32C value if a
    PP2_TYPE_CRC32C vector was present, so the caller can verify it over the
    whole header.
    """
    tlvs: list[TLV] = []
    append = tlvs.append
    crc_offset: int | None = None
    makers = _MAKERS
    pos = start
    while pos < end:
        value_end = pos + 3 + ((data[pos + 1] << 8) | data[pos + 2]) if end - pos >= 3 else end + 1
        if value_end > end:
            raise _overrun(data, pos, end, "the header")
        tlv_type = data[pos]
        append(makers[tlv_type](tlv_type, data[pos + 3 : value_end]))
        if tlv_type == _CRC32C:
            if crc_offset is not None:
                raise MalformedTLV("more than one PP2_TYPE_CRC32C vector")
            crc_offset = pos + 3
        pos = value_end
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
