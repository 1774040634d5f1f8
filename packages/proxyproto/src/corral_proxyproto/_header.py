"""The parsed result: :class:`ProxyHeader` and the small types it is made of."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address
from typing import NamedTuple

from ._errors import MalformedTLV
from ._tlv import (
    CRC32CTLV,
    PP2_SUBTYPE_AWS_VPCE_ID,
    PP2_SUBTYPE_AZURE_PRIVATEENDPOINT_LINKID,
    PP2_TYPE_AWS,
    PP2_TYPE_AZURE,
    PP2_TYPE_GCP,
    SSLTLV,
    TLV,
    AuthorityTLV,
    NetnsTLV,
    TLVType,
)

__all__ = [
    "Command",
    "Family",
    "InetAddress",
    "ProxyHeader",
    "Transport",
    "UnixAddress",
]


class Command(enum.IntEnum):
    """Section 2.2, the low nibble of the 13th byte.

    v1 headers have no command; they are reported as ``PROXY``.
    """

    LOCAL = 0x0
    PROXY = 0x1


class Family(enum.IntEnum):
    """Section 2.2, the high nibble of the 14th byte."""

    UNSPEC = 0x0
    INET = 0x1
    INET6 = 0x2
    UNIX = 0x3


class Transport(enum.IntEnum):
    """Section 2.2, the low nibble of the 14th byte."""

    UNSPEC = 0x0
    STREAM = 0x1
    DGRAM = 0x2


class InetAddress(NamedTuple):
    """An IPv4/IPv6 endpoint: ``(host, port)``."""

    host: IPv4Address | IPv6Address
    port: int


class UnixAddress(NamedTuple):
    """An AF_UNIX endpoint (section 2.2: "exactly 108 bytes each").

    ``path`` is the 108-byte field with trailing NUL bytes removed (an abstract
    socket name keeps its leading NUL).
    """

    path: bytes


Address = InetAddress | UnixAddress


@dataclass(frozen=True, slots=True)
class ProxyHeader:
    """A complete, validated PROXY protocol header.

    ``source``/``destination`` are ``None`` whenever the spec says to use the
    real connection endpoints instead: v1 ``UNKNOWN``, v2 ``LOCAL``, and v2
    ``UNSPEC`` (or a defined but unsupported family/transport combination).
    ``raw`` is exactly the header bytes as received.
    """

    version: int
    command: Command
    family: Family
    transport: Transport
    source: Address | None
    destination: Address | None
    tlvs: tuple[TLV, ...]
    raw: bytes

    # -- convenience -----------------------------------------------------

    @property
    def is_local(self) -> bool:
        """v2 LOCAL: a connection the proxy made itself (e.g. a health check)."""
        return self.command is Command.LOCAL

    def get_tlv(self, tlv_type: int) -> TLV | None:
        """The first TLV of *tlv_type*, or ``None``."""
        for tlv in self.tlvs:
            if tlv.type == tlv_type:
                return tlv
        return None

    @property
    def alpn(self) -> bytes | None:
        tlv = self.get_tlv(TLVType.ALPN)
        return None if tlv is None else tlv.value

    @property
    def authority(self) -> str | None:
        tlv = self.get_tlv(TLVType.AUTHORITY)
        return tlv.host if isinstance(tlv, AuthorityTLV) else None

    @property
    def crc32c(self) -> int | None:
        tlv = self.get_tlv(TLVType.CRC32C)
        return tlv.checksum if isinstance(tlv, CRC32CTLV) else None

    @property
    def unique_id(self) -> bytes | None:
        tlv = self.get_tlv(TLVType.UNIQUE_ID)
        return None if tlv is None else tlv.value

    @property
    def ssl(self) -> SSLTLV | None:
        tlv = self.get_tlv(TLVType.SSL)
        return tlv if isinstance(tlv, SSLTLV) else None

    @property
    def netns(self) -> str | None:
        tlv = self.get_tlv(TLVType.NETNS)
        return tlv.name if isinstance(tlv, NetnsTLV) else None

    @property
    def aws_vpc_endpoint_id(self) -> str | None:
        """AWS NLB: PP2_TYPE_AWS (0xEA) / PP2_SUBTYPE_AWS_VPCE_ID (0x01), US-ASCII.

        ``None`` if absent or of another subtype; :class:`MalformedTLV` if not ASCII.
        """
        for tlv in self.tlvs:
            if tlv.type == PP2_TYPE_AWS and tlv.value[:1] == bytes((PP2_SUBTYPE_AWS_VPCE_ID,)):
                try:
                    return tlv.value[1:].decode("ascii")
                except UnicodeDecodeError:
                    raise MalformedTLV("AWS VPC endpoint id is not US-ASCII") from None
        return None

    @property
    def azure_private_endpoint_link_id(self) -> int | None:
        """Azure Private Link: type 0xEE, subtype 0x01, UINT32 little-endian.

        ``None`` if absent or of another subtype; :class:`MalformedTLV` if the
        value is not exactly 5 bytes.
        """
        for tlv in self.tlvs:
            if tlv.type == PP2_TYPE_AZURE and tlv.value[:1] == bytes(
                (PP2_SUBTYPE_AZURE_PRIVATEENDPOINT_LINKID,)
            ):
                if len(tlv.value) != 5:
                    raise MalformedTLV("Azure LinkID TLV must be 5 bytes")
                return int.from_bytes(tlv.value[1:], "little")
        return None

    @property
    def gcp_psc_connection_id(self) -> int | None:
        """Google Cloud PSC: type 0xE0, 8-byte unsigned integer, network order.

        ``None`` if absent; :class:`MalformedTLV` if not exactly 8 bytes.
        """
        tlv = self.get_tlv(PP2_TYPE_GCP)
        if tlv is None:
            return None
        if len(tlv.value) != 8:
            raise MalformedTLV("GCP PSC connection id TLV must be 8 bytes")
        return int.from_bytes(tlv.value, "big")


# The parser builds a header per connection; the frozen dataclass __init__
# goes through object.__setattr__ once per field, which costs more than the
# rest of a v2 parse.  The slot descriptors set the same fields directly.
_new = object.__new__
_Setter = Callable[[object, object], None]
_slots = ProxyHeader.__dict__
_set_version: _Setter = _slots["version"].__set__
_set_command: _Setter = _slots["command"].__set__
_set_family: _Setter = _slots["family"].__set__
_set_transport: _Setter = _slots["transport"].__set__
_set_source: _Setter = _slots["source"].__set__
_set_destination: _Setter = _slots["destination"].__set__
_set_tlvs: _Setter = _slots["tlvs"].__set__
_set_raw: _Setter = _slots["raw"].__set__


def new_header(
    version: int,
    command: Command,
    family: Family,
    transport: Transport,
    source: Address | None,
    destination: Address | None,
    tlvs: tuple[TLV, ...],
    raw: bytes,
) -> ProxyHeader:
    """``ProxyHeader(...)`` without the frozen-dataclass ``__init__`` overhead."""
    header: ProxyHeader = _new(ProxyHeader)
    _set_version(header, version)
    _set_command(header, command)
    _set_family(header, family)
    _set_transport(header, transport)
    _set_source(header, source)
    _set_destination(header, destination)
    _set_tlvs(header, tlvs)
    _set_raw(header, raw)
    return header
