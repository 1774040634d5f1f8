"""Version 1: the human-readable header (section 2.1).

``PROXY <TCP4|TCP6|UNKNOWN> <src> <dst> <sport> <dport>\\r\\n``, at most 107
bytes including the CRLF.  The receiver checks every prefix as it arrives so a
peer that sends garbage (or never sends the CRLF) is rejected at once.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from ipaddress import AddressValueError, IPv4Address, IPv6Address
from socket import AF_INET, AF_INET6, inet_pton

from ._errors import HeaderTooLong, InvalidV1Header
from ._header import Command, Family, InetAddress, ProxyHeader, Transport, new_header

__all__ = ["MAX_V1_LENGTH", "V1_PREFIX", "build_v1", "parse_v1_line", "try_parse_v1"]

# Section 2.1: "worst case ... => 107 chars" (including the CRLF).
MAX_V1_LENGTH = 107
# Section 2.1: the string "PROXY" followed by "exactly one space".
V1_PREFIX = b"PROXY "

_TCP4 = b"TCP4"
_TCP6 = b"TCP6"
_UNKNOWN = b"UNKNOWN"
_PROTOCOLS = (_TCP4, _TCP6, _UNKNOWN)
_HEX_IPV6 = frozenset(b"0123456789abcdefABCDEF:.")
# "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255" (RFC 4291 section 2.2, form 3)
_MAX_IPV6_TEXT = 45


def _bad(msg: str) -> InvalidV1Header:
    return InvalidV1Header(msg)


def _check_decimal(tok: bytes, max_value: int, max_digits: int, what: str, partial: bool) -> int:
    """Validate a decimal number: digits only, no sign, no heading zeros.

    Section 2.1: "Heading zeroes are not permitted in front of numbers in order
    to avoid any possible confusion with octal numbers."
    """
    if not tok:
        if partial:
            return 0
        raise _bad(f"empty {what}")
    if not tok.isdigit():
        raise _bad(f"{what} {tok!r} is not a decimal number")
    if len(tok) > 1 and tok[0] == 0x30:
        raise _bad(f"{what} {tok!r} has a heading zero")
    if len(tok) > max_digits:
        raise _bad(f"{what} {tok!r} is too long")
    value = int(tok)
    if value > max_value:
        raise _bad(f"{what} {tok!r} is out of range [0..{max_value}]")
    return value


def _ipv4(tok: bytes, partial: bool) -> IPv4Address | None:
    """Section 2.1: "exactly 4 integers in the range [0..255] inclusive written
    in decimal representation separated by exactly one dot"."""
    parts = tok.split(b".")
    if len(parts) > 4:
        raise _bad(f"IPv4 address {tok!r} has more than 4 parts")
    value = 0
    for i, part in enumerate(parts):
        is_last = i == len(parts) - 1
        value = (value << 8) | _check_decimal(part, 255, 3, "IPv4 octet", partial and is_last)
    if partial:
        return None
    if len(parts) != 4:
        raise _bad(f"IPv4 address {tok!r} does not have 4 parts")
    return IPv4Address(value)


def _ipv6(tok: bytes, partial: bool) -> IPv6Address | None:
    """Section 2.1: sets of hex digits delimited by colons, one "::" at most, 128
    bits in total; the RFC 4291 section 2.2 text forms (including the trailing
    dotted-quad form) are accepted, zone ids ("%eth0") are not."""
    if not _HEX_IPV6.issuperset(tok):
        raise _bad(f"IPv6 address {tok!r} has characters outside [0-9A-Fa-f:.]")
    if len(tok) > _MAX_IPV6_TEXT:
        raise _bad(f"IPv6 address {tok!r} is too long")
    if partial:
        return None
    try:
        return IPv6Address(tok.decode("ascii"))
    except AddressValueError as exc:
        raise _bad(f"invalid IPv6 address {tok!r}: {exc}") from None


def _port(tok: bytes, partial: bool) -> int:
    # Section 2.1: "a decimal integer in the range [0..65535] inclusive".
    return _check_decimal(tok, 65535, 5, "port", partial)


def _fields(rest: bytes, partial: bool) -> tuple[Family, InetAddress, InetAddress] | None:
    """Validate ``<proto> <src> <dst> <sport> <dport>`` (*rest* follows "PROXY ")."""
    tokens = rest.split(b" ")
    proto = tokens[0]
    parse_ip: Callable[[bytes, bool], IPv4Address | IPv6Address | None]
    if proto == _TCP4:
        family, parse_ip = Family.INET, _ipv4
    elif proto == _TCP6:
        family, parse_ip = Family.INET6, _ipv6
    else:
        raise _bad(f"unknown protocol {proto!r} (expected TCP4, TCP6 or UNKNOWN)")
    fields = tokens[1:]
    if len(fields) > 4 or (not partial and len(fields) != 4):
        raise _bad(f"expected 4 fields after {proto.decode()}, got {len(fields)}")
    last = len(fields) - 1
    src = dst = None
    sport = dport = 0
    for i, tok in enumerate(fields):
        tok_partial = partial and i == last
        if i == 0:
            src = parse_ip(tok, tok_partial)
        elif i == 1:
            dst = parse_ip(tok, tok_partial)
        elif i == 2:
            sport = _port(tok, tok_partial)
        else:
            dport = _port(tok, tok_partial)
    if partial:
        return None
    assert src is not None and dst is not None
    return family, InetAddress(src, sport), InetAddress(dst, dport)


# Fast path: one compiled pattern per protocol matches a complete, valid line
# and captures the four fields; the captured text then only needs converting.
# The patterns accept a subset of what the careful validators above accept
# (tests/test_v1.py checks this against them on generated input); any line
# they do not match goes through those validators, which either accept it
# (the rarer IPv6 forms) or raise the precise error.
#
# Section 2.1: decimal octets 0..255 and ports 0..65535, no heading zeros.
_OCTET = rb"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = rb"(%s(?:\.%s){3})" % (_OCTET, _OCTET)
_PORT = rb"(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3}|0)"
# IPv6 (RFC 4291 section 2.2 forms 1 and 2): eight groups of 1-4 hex digits,
# or fewer around a single "::".  The lookahead allows at most 7 colons, which
# with the shape below is exactly "at most 7 groups around the ::".  Forms with
# a trailing dotted quad, and the two 8-colon "::" forms ("::1:2:3:4:5:6:7",
# "1:2:3:4:5:6:7::"), are left to the careful path.
_HEX = rb"[0-9A-Fa-f]{1,4}"
_IPV6 = (
    rb"((?![0-9A-Fa-f]*(?::[0-9A-Fa-f]*){8})(?:%s(?::%s){7}|(?:%s(?::%s){0,6})?::(?:%s(?::%s){0,6})?))"
    % ((_HEX,) * 6)
)
_TCP4_LINE = re.compile(rb"PROXY TCP4 %s %s %s %s" % (_IPV4, _IPV4, _PORT, _PORT))
_TCP6_LINE = re.compile(rb"PROXY TCP6 %s %s %s %s" % (_IPV6, _IPV6, _PORT, _PORT))
_from_bytes = int.from_bytes
_tuple_new = tuple.__new__


def _fast_line(line: bytes, raw: bytes) -> ProxyHeader | None:
    """The header for a common, valid TCP4/TCP6 *line*, or ``None``."""
    source: IPv4Address | IPv6Address
    destination: IPv4Address | IPv6Address
    match = _TCP4_LINE.fullmatch(line)
    if match is not None:
        src, dst, sport, dport = match.groups()
        # The pattern has validated the text; inet_pton only converts it.
        source = IPv4Address(_from_bytes(inet_pton(AF_INET, src.decode()), "big"))
        destination = IPv4Address(_from_bytes(inet_pton(AF_INET, dst.decode()), "big"))
        family = Family.INET
    else:
        match = _TCP6_LINE.fullmatch(line)
        if match is None:
            return None
        src, dst, sport, dport = match.groups()
        source = IPv6Address(_from_bytes(inet_pton(AF_INET6, src.decode()), "big"))
        destination = IPv6Address(_from_bytes(inet_pton(AF_INET6, dst.decode()), "big"))
        family = Family.INET6
    return new_header(
        1,
        Command.PROXY,
        family,
        Transport.STREAM,
        _tuple_new(InetAddress, (source, int(sport))),
        _tuple_new(InetAddress, (destination, int(dport))),
        (),
        raw,
    )


def parse_v1_line(line: bytes, raw: bytes | None = None) -> ProxyHeader:
    """Parse one complete v1 line given *without* its CRLF."""
    raw_bytes = line + b"\r\n" if raw is None else raw
    header = _fast_line(line, raw_bytes)
    if header is not None:
        return header
    if not line.startswith(V1_PREFIX):
        raise _bad(f"line does not start with 'PROXY ': {line[:8]!r}")
    rest = line[6:]
    # Section 2.1: for "UNKNOWN", "the rest of the line before the CRLF may be
    # omitted by the sender, and the receiver must ignore anything presented
    # before the CRLF is found".
    if rest == _UNKNOWN or rest.startswith(b"UNKNOWN "):
        return ProxyHeader(
            1, Command.PROXY, Family.UNSPEC, Transport.UNSPEC, None, None, (), raw_bytes
        )
    parsed = _fields(rest, partial=False)
    assert parsed is not None
    family, src, dst = parsed
    return ProxyHeader(1, Command.PROXY, family, Transport.STREAM, src, dst, (), raw_bytes)


def _check_prefix(buf: bytes) -> None:
    """Raise as soon as *buf* (no CRLF in it yet) cannot begin a valid v1 line."""
    if len(buf) <= 6:
        if buf != V1_PREFIX[: len(buf)]:
            raise _bad(f"{buf!r} cannot begin 'PROXY '")
        return
    if not buf.startswith(V1_PREFIX):
        raise _bad(f"{buf[:6]!r} is not 'PROXY '")
    if buf[-1] == 0x0D:
        # The next byte can only be LF (a lone CR is not tolerated, section
        # 2.1), so what precedes it must already be a complete line.
        parse_v1_line(buf[:-1])
        return
    rest = buf[6:]
    space = rest.find(b" ")
    if space < 0:
        if not any(p.startswith(rest) for p in _PROTOCOLS):
            raise _bad(f"{rest!r} cannot begin TCP4, TCP6 or UNKNOWN")
        return
    if rest[:space] == _UNKNOWN:
        return
    _fields(rest, partial=True)


def try_parse_v1(buf: bytes) -> tuple[ProxyHeader, int] | None:
    """Parse a v1 header at the start of *buf*.

    Returns ``(header, header_length)`` or ``None`` if more bytes are needed;
    raises as soon as the bytes cannot become a valid header.
    """
    end = buf.find(b"\r\n", 0, MAX_V1_LENGTH)
    if end >= 0:
        return parse_v1_line(buf[:end], buf[: end + 2]), end + 2
    if len(buf) >= MAX_V1_LENGTH:
        # The CVE-2021-23351 class of bug: never buffer an unbounded line.
        raise HeaderTooLong(f"no CRLF in the first {MAX_V1_LENGTH} bytes of a v1 header")
    _check_prefix(buf)
    return None


def _format_ip(host: str | IPv4Address | IPv6Address, v6: bool) -> bytes:
    text = str(host)
    parsed = _ipv6(text.encode("ascii"), False) if v6 else _ipv4(text.encode("ascii"), False)
    assert parsed is not None
    return text.encode("ascii")


def build_v1(
    source: tuple[str | IPv4Address | IPv6Address, int] | None = None,
    destination: tuple[str | IPv4Address | IPv6Address, int] | None = None,
) -> bytes:
    """Build a v1 line (section 2.1).

    With no addresses this is ``PROXY UNKNOWN\\r\\n``.  Address strings are
    emitted as given after being validated exactly as the parser would;
    :class:`ipaddress` objects are emitted in their canonical text form.
    Raises :class:`ValueError` for values the parser would reject.
    """
    if source is None and destination is None:
        return b"PROXY UNKNOWN\r\n"
    if source is None or destination is None:
        raise ValueError("give both source and destination, or neither")
    v6 = ":" in str(source[0])
    if v6 != (":" in str(destination[0])):
        raise ValueError("source and destination must be the same address family")
    try:
        src = _format_ip(source[0], v6)
        dst = _format_ip(destination[0], v6)
        sport = _port(str(source[1]).encode("ascii"), False)
        dport = _port(str(destination[1]).encode("ascii"), False)
    except (InvalidV1Header, UnicodeEncodeError) as exc:
        raise ValueError(str(exc)) from None
    proto = _TCP6 if v6 else _TCP4
    return b"PROXY %s %s %s %d %d\r\n" % (proto, src, dst, sport, dport)
