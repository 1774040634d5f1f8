"""Version 1, section 2.1 "Human-readable header format"."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, ip_address

import pytest
from corral_proxyproto import (
    NEED_DATA,
    Family,
    HeaderTooLong,
    InvalidV1Header,
    Parser,
    Transport,
    Versions,
    _v1,
    build_v1,
    parse,
)
from hypothesis import given, settings
from hypothesis import strategies as st


@pytest.mark.parametrize(
    ("line", "family", "src", "dst"),
    [
        (
            b"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n",
            Family.INET,
            ("192.168.0.1", 56324),
            ("192.168.0.11", 443),
        ),
        (
            b"PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n",
            Family.INET,
            ("255.255.255.255", 65535),
            ("255.255.255.255", 65535),
        ),
        (b"PROXY TCP4 0.0.0.0 0.0.0.0 0 0\r\n", Family.INET, ("0.0.0.0", 0), ("0.0.0.0", 0)),
        (b"PROXY TCP6 ::1 ::2 1 2\r\n", Family.INET6, ("::1", 1), ("::2", 2)),
        (
            b"PROXY TCP6 FFFF:ffff:ffff:ffff:ffff:ffff:ffff:ffff :: 65535 1\r\n",
            Family.INET6,
            ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535),
            ("::", 1),
        ),
        (
            b"PROXY TCP6 ::ffff:10.0.0.1 2001:db8::1 80 8080\r\n",
            Family.INET6,
            ("::ffff:10.0.0.1", 80),
            ("2001:db8::1", 8080),
        ),
    ],
)
def test_valid_tcp_lines(
    line: bytes, family: Family, src: tuple[str, int], dst: tuple[str, int]
) -> None:
    result = parse(line + b"GET / HTTP/1.1\r\n", Versions.V1)
    header = result.header
    assert header.version == 1
    assert header.family is family
    assert header.transport is Transport.STREAM
    assert header.source == (ip_address(src[0]), src[1])
    assert header.destination == (ip_address(dst[0]), dst[1])
    assert header.raw == line
    assert result.remaining == b"GET / HTTP/1.1\r\n"


@pytest.mark.parametrize(
    "line",
    [
        b"PROXY UNKNOWN\r\n",
        b"PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n",
        b"PROXY UNKNOWN anything\x00at all\n\rgoes\r\n",
        b"PROXY UNKNOWN \r\n",
    ],
)
def test_unknown_with_or_without_the_rest_of_the_line(line: bytes) -> None:
    header = parse(line).header
    assert header.family is Family.UNSPEC
    assert header.transport is Transport.UNSPEC
    assert header.source is None and header.destination is None
    assert header.raw == line


def test_longest_legal_line_is_107_bytes() -> None:
    addr = b":".join([b"ffff"] * 8)
    line = b"PROXY UNKNOWN " + addr + b" " + addr + b" 65535 65535\r\n"
    assert len(line) == 107
    assert parse(line).header.raw == line


@pytest.mark.parametrize("size", [107, 200, 10_000])
def test_no_crlf_in_107_bytes_is_rejected(size: int) -> None:
    # The unbounded line read behind CVE-2021-23351 (go-proxyproto).
    data = b"PROXY UNKNOWN " + b"x" * (size - 14)
    with pytest.raises(HeaderTooLong):
        parse(data)


def test_106_bytes_without_crlf_still_waits() -> None:
    parser = Parser()
    assert parser.feed(b"PROXY UNKNOWN " + b"x" * 92) is NEED_DATA
    with pytest.raises(HeaderTooLong):
        parser.feed(b"y")


def test_rejected_at_107_bytes_even_when_fed_one_byte_at_a_time() -> None:
    parser = Parser()
    data = b"PROXY UNKNOWN " + b"x" * 200
    for i in range(106):
        assert parser.feed(data[i : i + 1]) is NEED_DATA
    with pytest.raises(HeaderTooLong):
        parser.feed(data[106:107])
    assert parser.buffered == 0


BAD_LINES = [
    b"PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n",  # two spaces
    b"PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n",
    b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n",  # trailing space
    b"PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n",  # missing port
    b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n",
    b"PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n",
    b"PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n",
    b"PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n",
    b"PROXY UNKNOWNX\r\n",
    b"PROXY\r\n",
    b"PROXY \r\n",
    b"PROXY TCP4\r\n",
    b"PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n",  # heading zero
    b"PROXY TCP4 1.2.3.04 5.6.7.8 1 2\r\n",
    b"PROXY TCP4 1.2.3.00 5.6.7.8 1 2\r\n",
    b"PROXY TCP4 256.2.3.4 5.6.7.8 1 2\r\n",
    b"PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n",
    b"PROXY TCP4 1.2.3.4.5 5.6.7.8 1 2\r\n",
    b"PROXY TCP4 1..3.4 5.6.7.8 1 2\r\n",
    b"PROXY TCP4 1.2.3.4. 5.6.7.8 1 2\r\n",
    b"PROXY TCP4 1.2.3.+4 5.6.7.8 1 2\r\n",
    b"PROXY TCP4 1.2.3.1234 5.6.7.8 1 2\r\n",
    b"PROXY TCP4 ::1 ::1 1 2\r\n",  # family mismatch
    b"PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n",
    b"PROXY TCP6 ::1 1.2.3.4 1 2\r\n",
    b"PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n",  # zone id
    b"PROXY TCP6 [::1] ::1 1 2\r\n",
    b"PROXY TCP6 1::2::3 ::1 1 2\r\n",
    b"PROXY TCP6 12345::1 ::1 1 2\r\n",
    b"PROXY TCP6 1:2:3:4:5:6:7:8:9 ::1 1 2\r\n",
    b"PROXY TCP6 1:2:3:4:5:6:7 ::1 1 2\r\n",
    b"PROXY TCP6 ::ffff:1.2.3.04 ::1 1 2\r\n",
    b"PROXY TCP6 " + b"0" * 46 + b" ::1 1 2\r\n",
    b"PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n",  # port heading zero
    b"PROXY TCP4 1.2.3.4 5.6.7.8 1 00\r\n",
    b"PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n",
    b"PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n",
    b"PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n",
    b"PROXY TCP4 1.2.3.4 5.6.7.8 123456 2\r\n",
    b"PROXY TCP4 1.2.3.4 5.6.7.8 1 \xd9\xa1\r\n",  # non-ASCII digit
    b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n",  # lone LF ... then CRLF later
    b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX\r\n",  # lone CR
    b"PROXY TCP4 1.2.3.4\t5.6.7.8 1 2\r\n",
]


@pytest.mark.parametrize("line", BAD_LINES)
def test_malformed_lines_are_rejected(line: bytes) -> None:
    with pytest.raises(InvalidV1Header):
        parse(line + b"\r\n")


@pytest.mark.parametrize("line", BAD_LINES)
def test_malformed_lines_are_rejected_before_the_crlf_when_possible(line: bytes) -> None:
    """Section 2.1: "abort the connection as soon as possible"."""
    parser = Parser()
    body = line[:-2] if line.endswith(b"\r\n") else line
    with pytest.raises(InvalidV1Header):
        for i in range(len(body)):
            parser.feed(body[i : i + 1])
        parser.feed(b"\r\n")


@pytest.mark.parametrize(
    ("prefix", "bad_at"),
    [
        (b"PROXY TCP4 1.2.3.4 5.6.7.8 01", 29),
        (b"PROXY TCP4 300", 14),
        (b"PROXY TCP4 1.2.3.4  ", 20),
        (b"PROXY XCP4", 7),
        (b"PROXY TCP6 ::g", 14),
        (b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 ", 31),
    ],
)
def test_rejected_at_the_first_impossible_byte(prefix: bytes, bad_at: int) -> None:
    parser = Parser()
    for i in range(bad_at - 1):
        assert parser.feed(prefix[i : i + 1]) is NEED_DATA, prefix[: i + 1]
    with pytest.raises(InvalidV1Header):
        parser.feed(prefix[bad_at - 1 : bad_at])


def test_valid_prefixes_wait_for_more() -> None:
    line = b"PROXY TCP6 2001:db8::1 ::ffff:1.2.3.4 65535 0\r\n"
    for cut in range(len(line)):
        parser = Parser(Versions.V1)
        assert parser.feed(line[:cut]) is NEED_DATA, line[:cut]


def test_cr_may_be_the_last_byte_received() -> None:
    parser = Parser()
    assert parser.feed(b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r") is NEED_DATA
    result = parser.feed(b"\nrest")
    assert result is not NEED_DATA
    assert result.remaining == b"rest"


def test_proxyx_is_an_invalid_v1_header() -> None:
    with pytest.raises(InvalidV1Header):
        parse(b"PROXYX")


# -- builder -------------------------------------------------------------


def test_build_unknown() -> None:
    assert build_v1() == b"PROXY UNKNOWN\r\n"


def test_build_tcp4_and_tcp6() -> None:
    assert build_v1(("1.2.3.4", 5), (IPv4Address("6.7.8.9"), 10)) == (
        b"PROXY TCP4 1.2.3.4 6.7.8.9 5 10\r\n"
    )
    assert build_v1((IPv6Address("::1"), 0), ("2001:db8::2", 65535)) == (
        b"PROXY TCP6 ::1 2001:db8::2 0 65535\r\n"
    )


@pytest.mark.parametrize(
    ("src", "dst"),
    [
        (("1.2.3.4", 1), None),
        (None, ("1.2.3.4", 1)),
        (("1.2.3.4", 1), ("::1", 1)),
        (("1.2.3.4", 70000), ("1.2.3.4", 1)),
        (("1.2.3.4", -1), ("1.2.3.4", 1)),
        (("01.2.3.4", 1), ("1.2.3.4", 1)),
        (("fe80::1%eth0", 1), ("::1", 1)),
        (("1.2.3.4", 1), ("1.2.3.\u0664", 1)),
    ],
)
def test_build_rejects_what_the_parser_would_reject(
    src: tuple[str, int] | None, dst: tuple[str, int] | None
) -> None:
    with pytest.raises(ValueError):
        build_v1(src, dst)


inet4 = st.tuples(st.ip_addresses(v=4), st.integers(0, 65535))
inet6 = st.tuples(st.ip_addresses(v=6), st.integers(0, 65535))


@given(st.one_of(st.tuples(inet4, inet4), st.tuples(inet6, inet6)), st.binary(max_size=64))
def test_build_then_parse_is_the_identity(
    endpoints: tuple[tuple[IPv4Address | IPv6Address, int], ...], tail: bytes
) -> None:
    src, dst = endpoints
    data = build_v1(src, dst)
    result = parse(data + tail, Versions.V1)
    assert result.header.source == src
    assert result.header.destination == dst
    assert result.header.raw == data
    assert result.remaining == tail
    assert build_v1(result.header.source, result.header.destination) == data


# -- the fast path (one regex per protocol) against the careful validators ---

_hex_groups = st.lists(st.text("0123456789abcdefABCDEF", max_size=5), max_size=9).map(":".join)
_v6_tokens = st.one_of(
    st.text("0123456789abcdefABCDEF:.", max_size=46),
    _hex_groups,
    st.tuples(_hex_groups, _hex_groups).map("::".join),
    st.ip_addresses(v=6).map(str),
    st.ip_addresses(v=6).map(lambda a: a.exploded.upper()),
)
_v4_tokens = st.one_of(
    st.text("0123456789.", max_size=16),
    st.lists(st.text("0123456789", max_size=4), max_size=5).map(".".join),
    st.ip_addresses(v=4).map(str),
)
_port_tokens = st.one_of(st.text("0123456789+-", max_size=6), st.integers(0, 70000).map(str))


@settings(max_examples=3000)
@given(st.data())
def test_fast_path_agrees_with_the_careful_validators(data: st.DataObject) -> None:
    proto = data.draw(st.sampled_from(["TCP4", "TCP6"]))
    tokens = _v4_tokens if proto == "TCP4" else _v6_tokens
    src, dst = data.draw(tokens), data.draw(tokens)
    sport, dport = data.draw(_port_tokens), data.draw(_port_tokens)
    line = f"PROXY {proto} {src} {dst} {sport} {dport}".encode()
    fast = _v1._fast_line(line, line + b"\r\n")
    try:
        careful = _v1._fields(line[6:], partial=False)
    except InvalidV1Header:
        careful = None
    if fast is not None:
        assert careful is not None
        assert (fast.family, fast.source, fast.destination) == careful
        assert fast.raw == line + b"\r\n"
    elif careful is not None:
        # Only the rarer IPv6 forms are left to the careful path: a trailing
        # dotted quad, or "::" at one end with 8 colons in all.
        assert proto == "TCP6"
        assert any("." in tok or tok.count(":") == 8 for tok in (src, dst))


@pytest.mark.parametrize(
    "line",
    [
        b"PROXY TCP6 ::1:2:3:4:5:6:7 1:2:3:4:5:6:7:: 1 2\r\n",
        b"PROXY TCP6 ::ffff:1.2.3.4 ::1.2.3.4 1 2\r\n",
    ],
)
def test_forms_left_to_the_careful_path_are_accepted(line: bytes) -> None:
    tokens = line.split()
    header = parse(line).header
    assert header.source == (ip_address(tokens[2].decode()), 1)
    assert header.destination == (ip_address(tokens[3].decode()), 2)
