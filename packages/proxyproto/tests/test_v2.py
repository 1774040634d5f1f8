"""Version 2, section 2.2 "Binary header format"."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address

import pytest
from corral_proxyproto import (
    NEED_DATA,
    TLV,
    ChecksumMismatch,
    Command,
    Family,
    HeaderTooLong,
    InvalidAddressFamily,
    InvalidCommand,
    Parser,
    TLVType,
    Transport,
    TruncatedHeader,
    UnixAddress,
    UnsupportedVersion,
    Versions,
    build_v2,
    make_ssl_tlv,
    parse,
)
from hypothesis import given
from hypothesis import strategies as st

SIG = b"\r\n\r\n\x00\r\nQUIT\n"
V4_BLOCK = bytes([1, 2, 3, 4, 5, 6, 7, 8, 0x12, 0x34, 0x00, 0x50])


def raw_v2(ver_cmd: int, fam: int, body: bytes, length: int | None = None) -> bytes:
    n = len(body) if length is None else length
    return SIG + bytes([ver_cmd, fam, n >> 8, n & 0xFF]) + body


# Section 2.2 "In practice, the following protocol bytes are expected", and the
# address length each needs.
SUPPORTED = {0x11: 12, 0x12: 12, 0x21: 36, 0x22: 36, 0x31: 216, 0x32: 216}
# Defined family and transport nibbles, but not one of the combinations above:
# "falls back to the UNSPEC mode".
FALLBACK = {0x00, 0x01, 0x02, 0x10, 0x20, 0x30}


@pytest.mark.parametrize("fam", range(256))
def test_every_family_transport_byte_with_proxy(fam: int) -> None:
    data = raw_v2(0x21, fam, bytes(216))
    if fam in SUPPORTED:
        header = parse(data).header
        assert header.family == fam >> 4
        assert header.transport == fam & 0xF
        assert header.source is not None and header.destination is not None
        # The rest after the address block is parsed as TLVs: here zeros,
        # which are TLVs of type 0 and length 0.
        assert len(header.tlvs) == (216 - SUPPORTED[fam]) // 3
    elif fam in FALLBACK:
        header = parse(data).header
        assert (header.family, header.transport) == (fam >> 4, fam & 0xF)
        assert header.source is None and header.destination is None
        assert header.tlvs == ()
    else:
        with pytest.raises(InvalidAddressFamily):
            parse(data)


@pytest.mark.parametrize("fam", range(256))
def test_every_family_transport_byte_with_local_is_ignored(fam: int) -> None:
    """Section 2.2, LOCAL: "discard the protocol block including the family which is ignored"."""
    data = raw_v2(0x20, fam, b"\xff" * 5)
    result = parse(data + b"tail")
    assert result.header.command is Command.LOCAL
    assert result.header.source is None and result.header.tlvs == ()
    assert result.remaining == b"tail"


@pytest.mark.parametrize("fam", range(256))
def test_undefined_family_is_rejected_as_soon_as_its_byte_arrives(fam: int) -> None:
    parser = Parser()
    assert parser.feed(SIG + b"\x21") is NEED_DATA
    if fam >> 4 > 3 or fam & 0xF > 2:
        with pytest.raises(InvalidAddressFamily):
            parser.feed(bytes([fam]))
    else:
        assert parser.feed(bytes([fam])) is NEED_DATA


@pytest.mark.parametrize("version", [v for v in range(16) if v != 2])
def test_other_version_nibbles_are_rejected(version: int) -> None:
    with pytest.raises(UnsupportedVersion):
        Parser().feed(SIG + bytes([version << 4 | 1]))


@pytest.mark.parametrize("command", range(2, 16))
def test_unassigned_commands_are_rejected(command: int) -> None:
    with pytest.raises(InvalidCommand):
        Parser().feed(SIG + bytes([0x20 | command]))


@pytest.mark.parametrize(("fam", "needed"), sorted(SUPPORTED.items()))
def test_truncated_address_block_is_rejected_when_the_length_arrives(fam: int, needed: int) -> None:
    parser = Parser()
    with pytest.raises(TruncatedHeader):
        parser.feed(raw_v2(0x21, fam, b"", length=needed - 1))


def test_local_with_non_zero_length_skips_exactly_that_many_bytes() -> None:
    """Section 2.2: receivers "must not assume zero is presented for LOCAL connections"."""
    body = V4_BLOCK + b"\x03\x00\x04garbage-not-even-a-valid-crc"
    data = raw_v2(0x20, 0x11, body)
    result = parse(data + b"GET /")
    assert result.header.is_local
    assert result.header.raw == data
    assert result.remaining == b"GET /"


def test_local_with_zero_length() -> None:
    result = parse(SIG + b"\x20\x00\x00\x00")
    assert result.header.is_local
    assert result.header.family is Family.UNSPEC
    assert result.remaining == b""


def test_local_with_undefined_family_nibbles_reports_unspec() -> None:
    header = parse(raw_v2(0x20, 0xFF, b"")).header
    assert header.family is Family.UNSPEC and header.transport is Transport.UNSPEC


def test_tcp4_addresses_and_ports() -> None:
    header = parse(raw_v2(0x21, 0x11, V4_BLOCK)).header
    assert header.source == (IPv4Address("1.2.3.4"), 0x1234)
    assert header.destination == (IPv4Address("5.6.7.8"), 80)


def test_tcp6_addresses_and_ports() -> None:
    block = bytes(15) + b"\x01" + bytes(15) + b"\x02" + b"\xff\xff\x00\x00"
    header = parse(raw_v2(0x21, 0x21, block)).header
    assert header.source == (IPv6Address("::1"), 65535)
    assert header.destination == (IPv6Address("::2"), 0)


def test_unix_paths_are_nul_stripped() -> None:
    block = b"/run/a.sock".ljust(108, b"\0") + b"\0abstract".ljust(108, b"\0")
    header = parse(raw_v2(0x21, 0x31, block)).header
    assert header.source == UnixAddress(b"/run/a.sock")
    assert header.destination == UnixAddress(b"\0abstract")


def test_declared_length_above_the_cap_is_rejected_before_the_body_arrives() -> None:
    parser = Parser(max_header_size=64)
    with pytest.raises(HeaderTooLong):
        parser.feed(raw_v2(0x21, 0x11, b"", length=64 - 16 + 1))
    ok = Parser(max_header_size=64)
    assert ok.feed(raw_v2(0x21, 0x11, b"", length=64 - 16)) is NEED_DATA


def test_default_cap_allows_4096_but_not_4097() -> None:
    assert Parser().feed(raw_v2(0x21, 0x11, b"", length=4080)) is NEED_DATA
    with pytest.raises(HeaderTooLong):
        Parser().feed(raw_v2(0x21, 0x11, b"", length=4081))


def test_cap_below_the_fixed_part_is_refused() -> None:
    with pytest.raises(ValueError):
        Parser(max_header_size=15)


def test_wrong_crc32c_is_rejected() -> None:
    good = build_v2(("1.2.3.4", 1), ("5.6.7.8", 2), crc32c_checksum=True)
    parse(good)
    bad = good[:-1] + bytes([good[-1] ^ 0x80])
    with pytest.raises(ChecksumMismatch):
        parse(bad)
    tampered = bytearray(good)
    tampered[17] ^= 0x01  # an address byte
    with pytest.raises(ChecksumMismatch):
        parse(bytes(tampered))


def test_crc32c_covers_tlvs_after_the_checksum_too() -> None:
    data = build_v2(
        ("1.2.3.4", 1),
        ("5.6.7.8", 2),
        tlvs=[TLV(TLVType.CRC32C, b""), TLV(TLVType.NOOP, b"pad")],
        crc32c_checksum=True,
    )
    assert parse(data).header.crc32c is not None
    with pytest.raises(ChecksumMismatch):
        parse(data[:-1] + b"X")


# -- builder ---------------------------------------------------------------


def test_build_local() -> None:
    assert build_v2(command=Command.LOCAL) == SIG + b"\x20\x00\x00\x00"


def test_build_with_opaque_address_block() -> None:
    data = build_v2(command=Command.LOCAL, family=Family.INET, address_block=b"xyz")
    assert data == SIG + b"\x20\x11\x00\x03xyz"


def test_build_unix_from_bytes() -> None:
    data = build_v2(b"/a", UnixAddress(b"/b"), transport=Transport.DGRAM)
    header = parse(data).header
    assert header.family is Family.UNIX and header.transport is Transport.DGRAM
    assert header.source == UnixAddress(b"/a")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"source": ("1.2.3.4", 1), "destination": None}, "need"),
        ({"source": ("1.2.3.4", 1), "destination": UnixAddress(b"/x")}, "need"),
        ({"source": ("1.2.3.4", 1), "destination": ("::1", 1)}, "IPv4"),
        ({"source": ("1.2.3.4", 70000), "destination": ("1.2.3.4", 1)}, "port"),
        ({"source": b"/a", "destination": None}, "AF_UNIX"),
        ({"source": b"x" * 109, "destination": b"/b"}, "108"),
        ({"source": None, "destination": None, "tlvs": [TLV(0x100, b"")]}, "byte"),
        ({"source": None, "destination": None, "tlvs": [TLV(1, bytes(65536))]}, "65535"),
        (
            {"source": None, "destination": None, "tlvs": [TLV(1, bytes(40000))] * 2},
            "65535",
        ),
    ],
)
def test_build_rejects_impossible_headers(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build_v2(**kwargs)  # type: ignore[arg-type]


# -- build -> parse identity (hypothesis) --------------------------------------

ports = st.integers(0, 65535)
simple_tlv = st.builds(
    TLV,
    st.sampled_from([0x01, 0x04, 0x05, 0x10, 0x31, 0xE0, 0xE5, 0xEA, 0xEE, 0xF0, 0xFF]),
    st.binary(max_size=40),
)
text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=20)
ssl_tlv = st.builds(
    make_ssl_tlv,
    st.integers(0, 255),
    st.integers(0, 2**32 - 1),
    version=st.none() | text,
    cn=st.none() | st.text(max_size=20),
    cipher=st.none() | text,
    sig_alg=st.none() | text,
    key_alg=st.none() | text,
    group=st.none() | text,
    sig_scheme=st.none() | text,
    client_cert=st.none() | st.binary(max_size=50),
)
authority = st.builds(lambda s: TLV(0x02, s.encode()), st.text(max_size=20))
tlvs = st.lists(st.one_of(simple_tlv, ssl_tlv, authority), max_size=5)
endpoints = st.one_of(
    st.tuples(st.tuples(st.ip_addresses(v=4), ports), st.tuples(st.ip_addresses(v=4), ports)),
    st.tuples(st.tuples(st.ip_addresses(v=6), ports), st.tuples(st.ip_addresses(v=6), ports)),
    st.tuples(
        st.builds(UnixAddress, st.binary(max_size=108).map(lambda b: b.rstrip(b"\0"))),
        st.builds(UnixAddress, st.binary(max_size=108).map(lambda b: b.rstrip(b"\0"))),
    ),
)


@given(
    endpoints,
    st.sampled_from([Transport.STREAM, Transport.DGRAM]),
    tlvs,
    st.booleans(),
    st.binary(max_size=32),
)
def test_build_then_parse_is_the_identity(
    ends: tuple[object, object],
    transport: Transport,
    tlv_list: list[TLV],
    with_crc: bool,
    tail: bytes,
) -> None:
    src, dst = ends
    data = build_v2(src, dst, transport=transport, tlvs=tlv_list, crc32c_checksum=with_crc)  # type: ignore[arg-type]
    result = parse(data + tail, Versions.V2, max_header_size=70000)
    header = result.header
    assert result.remaining == tail
    assert header.raw == data
    assert header.command is Command.PROXY
    assert header.transport is transport
    assert header.source == src and header.destination == dst
    parsed_plain = [(t.type, t.value) for t in header.tlvs]
    expected = [(t.type, t.value) for t in tlv_list]
    if with_crc:
        assert parsed_plain[:-1] == expected
        assert parsed_plain[-1][0] == TLVType.CRC32C
    else:
        assert parsed_plain == expected
    rebuilt = build_v2(
        header.source,
        header.destination,
        transport=header.transport,
        tlvs=header.tlvs,
        crc32c_checksum=with_crc,
    )
    assert rebuilt == data
