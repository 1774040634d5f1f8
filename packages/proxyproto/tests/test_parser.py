"""The incremental parser: version selection, split points, state, robustness."""

from __future__ import annotations

import time

import corral_proxyproto as pp
import pytest
from corral_proxyproto import (
    NEED_DATA,
    IncompleteHeader,
    NotProxyProtocol,
    Parsed,
    Parser,
    ParserStateError,
    ProxyProtocolError,
    VersionNotAllowed,
    Versions,
    build_v1,
    build_v2,
    make_ssl_tlv,
    parse,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

V1 = b"PROXY TCP4 1.2.3.4 5.6.7.8 1111 80\r\n"
V2 = build_v2(
    ("1.2.3.4", 1111),
    ("5.6.7.8", 80),
    tlvs=[pp.TLV(pp.TLVType.UNIQUE_ID, b"x" * 20), make_ssl_tlv(version="TLSv1.3")],
    crc32c_checksum=True,
)
REQUEST = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"


@pytest.mark.parametrize("header", [V1, V2], ids=["v1", "v2"])
def test_bytes_after_the_header_are_never_consumed_at_any_split_point(header: bytes) -> None:
    data = header + REQUEST
    for cut in range(len(data) + 1):
        parser = Parser()
        first = parser.feed(data[:cut])
        if cut < len(header):
            assert first is NEED_DATA
            second = parser.feed(data[cut:])
            assert isinstance(second, Parsed)
            assert second.header.raw == header
            assert second.remaining == REQUEST
        else:
            assert isinstance(first, Parsed)
            assert first.header.raw == header
            assert first.remaining == data[len(header) : cut]


@pytest.mark.parametrize("header", [V1, V2], ids=["v1", "v2"])
def test_one_byte_at_a_time(header: bytes) -> None:
    parser = Parser()
    for i in range(len(header) - 1):
        assert parser.feed(header[i : i + 1]) is NEED_DATA
        assert parser.buffered == i + 1
    result = parser.feed(header[-1:] + b"!")
    assert isinstance(result, Parsed)
    assert result.remaining == b"!"
    assert parser.buffered == 0


def test_accepts_bytearray_and_memoryview() -> None:
    assert isinstance(Parser().feed(bytearray(V1)), Parsed)
    assert isinstance(Parser().feed(memoryview(V2)), Parsed)


def test_empty_feed_needs_data() -> None:
    assert Parser().feed(b"") is NEED_DATA


def test_v2_only_rejects_v1_once_proxy_is_seen() -> None:
    parser = Parser(Versions.V2)
    assert parser.feed(b"PROX") is NEED_DATA
    with pytest.raises(VersionNotAllowed):
        parser.feed(b"Y")


def test_v1_only_rejects_v2_once_the_signature_is_complete() -> None:
    parser = Parser(Versions.V1)
    assert parser.feed(V2[:11]) is NEED_DATA
    with pytest.raises(VersionNotAllowed):
        parser.feed(V2[11:12])


@pytest.mark.parametrize("versions", list(Versions))
def test_each_policy_accepts_its_versions(versions: Versions) -> None:
    for header, version in ((V1, 1), (V2, 2)):
        allowed = versions is Versions.AUTO or versions.value == f"v{version}"
        if allowed:
            assert parse(header, versions).header.version == version
        else:
            with pytest.raises(VersionNotAllowed):
                parse(header, versions)


@pytest.mark.parametrize(
    "data",
    [
        b"GET / HTTP/1.1\r\n",
        b"\x16\x03\x01\x02\x00",  # a TLS ClientHello
        b"SSH-2.0-OpenSSH\r\n",
        b"proxy TCP4",
        b"PROXZ",
        b"\r\n\r\n\x00\r\nQUIX\n",
        b"\r\r",
    ],
)
def test_other_protocols_are_not_proxy_protocol(data: bytes) -> None:
    with pytest.raises(NotProxyProtocol):
        parse(data)


def test_non_proxy_input_is_rejected_on_its_first_byte() -> None:
    with pytest.raises(NotProxyProtocol):
        Parser().feed(b"G")


def test_parse_of_an_incomplete_header_raises() -> None:
    with pytest.raises(IncompleteHeader):
        parse(V2[:-1])
    with pytest.raises(IncompleteHeader):
        parse(b"")


def test_feed_after_done_is_a_state_error() -> None:
    parser = Parser()
    assert isinstance(parser.feed(V1), Parsed)
    with pytest.raises(ParserStateError, match="parsed"):
        parser.feed(b"more")


def test_feed_after_an_error_is_a_state_error() -> None:
    parser = Parser()
    with pytest.raises(NotProxyProtocol):
        parser.feed(b"X")
    with pytest.raises(ParserStateError, match="error"):
        parser.feed(V1)


# -- robustness (hypothesis) ------------------------------------------------

prefixes = st.sampled_from(
    [b"", b"PROXY ", b"PROXY TCP4 ", b"PROXY TCP6 ", b"PROXY UNKNOWN", V2[:12], V2[:13], V2[:16]]
)


@settings(max_examples=2000, suppress_health_check=[HealthCheck.too_slow])
@given(prefixes, st.binary(max_size=600), st.integers(1, 50), st.sampled_from(list(Versions)))
def test_random_bytes_give_a_result_or_a_documented_error_quickly(
    prefix: bytes, junk: bytes, chunk: int, versions: Versions
) -> None:
    data = prefix + junk
    parser = Parser(versions)
    started = time.perf_counter()
    try:
        for i in range(0, len(data), chunk):
            result = parser.feed(data[i : i + chunk])
            if result is not NEED_DATA:
                assert result.header.raw + result.remaining == data[: i + chunk]
                break
    except ProxyProtocolError:
        pass
    assert time.perf_counter() - started < 1.0
    assert parser.buffered <= max(len(data), 4096)


@settings(max_examples=500)
@given(st.binary(max_size=200), st.integers(0, 199))
def test_mutated_valid_headers_give_a_result_or_a_documented_error(
    noise: bytes, where: int
) -> None:
    for header in (V1, V2, build_v1()):
        pos = where % len(header)
        data = header[:pos] + noise + header[pos + len(noise) :]
        try:
            parse(data)
        except ProxyProtocolError:
            pass
