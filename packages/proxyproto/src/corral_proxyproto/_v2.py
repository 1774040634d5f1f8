"""Version 2: the binary header (section 2.2).

    struct proxy_hdr_v2 {
        uint8_t sig[12];  /* 0D 0A 0D 0A 00 0D 0A 51 55 49 54 0A */
        uint8_t ver_cmd;  /* protocol version and command */
        uint8_t fam;      /* protocol family and address */
        uint16_t len;     /* number of following bytes part of the header */
    };

followed by ``len`` bytes: the address block, then TLV vectors.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from ipaddress import IPv4Address, IPv6Address, ip_address

from ._crc32c import crc32c
from ._errors import (
    ChecksumMismatch,
    HeaderTooLong,
    InvalidAddressFamily,
    InvalidCommand,
    TruncatedHeader,
    UnsupportedVersion,
)
from ._header import (
    Address,
    Command,
    Family,
    InetAddress,
    ProxyHeader,
    Transport,
    UnixAddress,
    new_header,
)
from ._tlv import TLV, TLVType, decode_tlvs, encode_tlvs

__all__ = ["DEFAULT_MAX_V2_SIZE", "V2_SIGNATURE", "build_v2", "try_parse_v2"]

# Section 2.2: "a constant 12 bytes block containing the protocol signature".
V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"
_FIXED = 16
# Generous (the address block is at most 216 bytes; HAProxy's own TLVs with a
# unique id and SSL details stay well under 1 KiB) but bounded.
DEFAULT_MAX_V2_SIZE = 4096
_UNIX_PATH = 108

# Section 2.2, "In practice, the following protocol bytes are expected", with
# the address length each needs ("2*4 + 2*2 = 12 bytes", etc.).
_ADDRESS_LENGTH = {
    0x11: 12,
    0x12: 12,
    0x21: 36,
    0x22: 36,
    0x31: 216,
    0x32: 216,
}


# Lookup tables instead of enum calls on the hot path.
_FAMILIES = tuple(Family(i >> 4) if i >> 4 <= 3 else Family.UNSPEC for i in range(256))
_TRANSPORTS = tuple(Transport(i & 0xF) if i & 0xF <= 2 else Transport.UNSPEC for i in range(256))
_COMMANDS = (Command.LOCAL, Command.PROXY)


def _check_ver_cmd(byte: int) -> Command:
    # Section 2.2: "The highest four bits contains the version. As of this
    # specification, it must always be sent as \x2 and the receiver must only
    # accept this value."
    if byte >> 4 != 2:
        raise UnsupportedVersion(f"v2 version nibble is {byte >> 4}, only 2 is defined")
    # "other values are unassigned and must not be emitted by senders.
    # Receivers must drop connections presenting unexpected values here."
    cmd = byte & 0x0F
    if cmd > 1:
        raise InvalidCommand(f"v2 command {cmd:#x} is neither LOCAL (0x0) nor PROXY (0x1)")
    return _COMMANDS[cmd]


def _check_fam(byte: int) -> None:
    # Section 2.2: families other than 0x0-0x3 and transports other than
    # 0x0-0x2 "must be rejected as invalid by receivers".
    if byte >> 4 > 3 or byte & 0x0F > 2:
        raise InvalidAddressFamily(f"undefined v2 family/transport byte {byte:#04x}")


# Section 2.2: "struct { uint32_t src_addr; uint32_t dst_addr; uint16_t
# src_port; uint16_t dst_port; } ipv4_addr;" and the 16-byte ipv6_addr form,
# all in network byte order.
_INET = struct.Struct("!IIHH")
_INET6 = struct.Struct("!QQQQHH")


def _inet(host: IPv4Address | IPv6Address, port: int) -> InetAddress:
    # InetAddress(host, port) without the NamedTuple __new__ wrapper.
    return _tuple_new(InetAddress, (host, port))


_tuple_new = tuple.__new__


def _unix_path(field: bytes) -> UnixAddress:
    return UnixAddress(field.rstrip(b"\x00"))


def try_parse_v2(buf: bytes, max_size: int) -> tuple[ProxyHeader, int] | None:
    """Parse a v2 header at the start of *buf* (whose first 12 bytes are the signature).

    Returns ``(header, header_length)`` or ``None`` if more bytes are needed.
    Each fixed field is checked as soon as it has arrived.
    """
    n = len(buf)
    if n < 13:
        return None
    command = _check_ver_cmd(buf[12])
    if n < 14:
        return None
    fam = buf[13]
    if command is Command.PROXY:
        _check_fam(fam)
    # For LOCAL "the receiver must accept this connection as valid and must use
    # the real connection endpoints and discard the protocol block including
    # the family which is ignored" (section 2.2), so fam is not checked.
    if n < _FIXED:
        return None
    length = (buf[14] << 8) | buf[15]
    total = _FIXED + length
    if total > max_size:
        raise HeaderTooLong(f"v2 header declares {total} bytes, the limit is {max_size}")
    needed = _ADDRESS_LENGTH.get(fam, 0) if command is Command.PROXY else 0
    if length < needed:
        raise TruncatedHeader(
            f"v2 family/transport {fam:#04x} needs a {needed}-byte address block, "
            f"the header declares {length}"
        )
    if n < total:
        return None
    raw = buf[:total]
    family = _FAMILIES[fam]
    transport = _TRANSPORTS[fam]
    if command is Command.LOCAL or needed == 0:
        # LOCAL: "Receivers MUST always consider this field to skip the
        # appropriate number of bytes and must not assume zero is presented for
        # LOCAL connections."  UNSPEC and the defined-but-unsupported
        # combinations fall back to UNSPEC mode: "The receiver should ignore
        # address information."  The bytes are skipped (kept in ``raw``).
        return new_header(2, command, family, transport, None, None, (), raw), total

    source: Address
    destination: Address
    if needed == 12:
        src4, dst4, sport, dport = _INET.unpack_from(raw, 16)
        source = _inet(IPv4Address(src4), sport)
        destination = _inet(IPv4Address(dst4), dport)
    elif needed == 36:
        s_hi, s_lo, d_hi, d_lo, sport, dport = _INET6.unpack_from(raw, 16)
        source = _inet(IPv6Address((s_hi << 64) | s_lo), sport)
        destination = _inet(IPv6Address((d_hi << 64) | d_lo), dport)
    else:
        source = _unix_path(raw[16 : 16 + _UNIX_PATH])
        destination = _unix_path(raw[16 + _UNIX_PATH : 16 + 2 * _UNIX_PATH])

    # "If the length specified in the PROXY protocol header indicates that
    # additional bytes are part of the header beyond the address information
    # ... those bytes will be arranged in Type-Length-Value (TLV vectors)".
    if total == _FIXED + needed:
        return new_header(2, command, family, transport, source, destination, (), raw), total
    tlvs, crc_offset = decode_tlvs(raw, _FIXED + needed, total)
    if crc_offset is not None:
        # Section 2.2.3: "replace the 32 bits of the checksum field in the
        # received PROXY header with all '0's and calculate a CRC32c checksum
        # value of the whole PROXY header."
        expected = int.from_bytes(raw[crc_offset : crc_offset + 4], "big")
        actual = crc32c(raw[:crc_offset] + b"\x00\x00\x00\x00" + raw[crc_offset + 4 :])
        if actual != expected:
            raise ChecksumMismatch(f"CRC32C in header is {expected:#010x}, computed {actual:#010x}")
    return new_header(2, command, family, transport, source, destination, tlvs, raw), total


def _pack_inet(addr: tuple[str | IPv4Address | IPv6Address, int], version: int) -> bytes:
    host = ip_address(addr[0]) if isinstance(addr[0], str) else addr[0]
    if host.version != version:
        raise ValueError(f"{host} is not an IPv{version} address")
    return host.packed


def _pack_unix(addr: UnixAddress | bytes) -> bytes:
    path = addr.path if isinstance(addr, UnixAddress) else addr
    if len(path) > _UNIX_PATH:
        raise ValueError(f"AF_UNIX path is {len(path)} bytes, the field holds {_UNIX_PATH}")
    return path.ljust(_UNIX_PATH, b"\x00")


def build_v2(
    source: tuple[str | IPv4Address | IPv6Address, int] | UnixAddress | bytes | None = None,
    destination: tuple[str | IPv4Address | IPv6Address, int] | UnixAddress | bytes | None = None,
    *,
    command: Command = Command.PROXY,
    family: Family | None = None,
    transport: Transport | None = None,
    tlvs: Iterable[TLV] = (),
    crc32c_checksum: bool = False,
    address_block: bytes | None = None,
) -> bytes:
    """Build a v2 header (section 2.2).

    The family is inferred from *source* (IPv4/IPv6 ``(host, port)`` tuples,
    :class:`UnixAddress` or ``bytes`` for AF_UNIX, ``None`` for UNSPEC) unless
    given; the transport defaults to STREAM (UNSPEC without addresses).

    *tlvs* are emitted in order.  With ``crc32c_checksum=True`` the
    PP2_TYPE_CRC32C vector found in *tlvs* (or one appended at the end) is
    filled in as section 2.2.3 describes.  *address_block* replaces the encoded
    addresses verbatim (for LOCAL/UNSPEC headers that carry opaque bytes).
    """
    if family is None:
        if source is None:
            family = Family.UNSPEC
        elif isinstance(source, (UnixAddress, bytes)):
            family = Family.UNIX
        else:
            host = source[0]
            family = Family.INET6 if ":" in str(host) else Family.INET
    if transport is None:
        transport = Transport.UNSPEC if family is Family.UNSPEC else Transport.STREAM

    if address_block is not None:
        block = address_block
    elif family in (Family.INET, Family.INET6) and transport is not Transport.UNSPEC:
        if (
            not isinstance(source, tuple)
            or not isinstance(destination, tuple)
            or isinstance(source, UnixAddress)
            or isinstance(destination, UnixAddress)
        ):
            raise ValueError("INET/INET6 headers need (host, port) source and destination")
        version = 4 if family is Family.INET else 6
        ports = []
        for port in (source[1], destination[1]):
            if not 0 <= port <= 0xFFFF:
                raise ValueError(f"port {port} out of range")
            ports.append(port.to_bytes(2, "big"))
        block = _pack_inet(source, version) + _pack_inet(destination, version) + b"".join(ports)
    elif family is Family.UNIX and transport is not Transport.UNSPEC:
        if not isinstance(source, (UnixAddress, bytes)) or not isinstance(
            destination, (UnixAddress, bytes)
        ):
            raise ValueError("AF_UNIX headers need UnixAddress/bytes source and destination")
        block = _pack_unix(source) + _pack_unix(destination)
    else:
        block = b""

    tlv_list = list(tlvs)
    crc_index = None
    if crc32c_checksum:
        for i, tlv in enumerate(tlv_list):
            if tlv.type == TLVType.CRC32C:
                crc_index = i
                break
        else:
            tlv_list.append(TLV(TLVType.CRC32C, b"\x00\x00\x00\x00"))
            crc_index = len(tlv_list) - 1
        tlv_list[crc_index] = TLV(TLVType.CRC32C, b"\x00\x00\x00\x00")

    body = block + encode_tlvs(tlv_list)
    if len(body) > 0xFFFF:
        raise ValueError(f"v2 header body is {len(body)} bytes (max 65535)")
    head = V2_SIGNATURE + bytes(
        (0x20 | int(command), (int(family) << 4) | int(transport), len(body) >> 8, len(body) & 0xFF)
    )
    header = head + body
    if crc_index is not None:
        # Section 2.2.3: "initialize the checksum field to '0's", "calculate
        # the CRC32c checksum of the PROXY header", "put the resultant value
        # into the checksum field".
        offset = _FIXED + len(block) + len(encode_tlvs(tlv_list[:crc_index])) + 3
        checksum = crc32c(header).to_bytes(4, "big")
        header = header[:offset] + checksum + header[offset + 4 :]
    return header
