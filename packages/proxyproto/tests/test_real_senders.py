"""Headers captured from real senders, parsed by the codec.

The bytes come from HAProxy and stunnel running on loopback (see conftest.py);
the client's first request follows the header on the same connection and must
come back as ``remaining``, byte for byte.
"""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest
from _senders import CLIENT_PAYLOAD, Capture
from corral_proxyproto import (
    NEED_DATA,
    ChecksumMismatch,
    Command,
    Family,
    Parsed,
    Parser,
    SSLClient,
    Transport,
    Versions,
    crc32c,
    parse,
)

LOCALHOST = IPv4Address("127.0.0.1")


def _parse_relayed(capture: Capture, versions: Versions = Versions.AUTO) -> Parsed:
    result = parse(capture.data, versions)
    assert result.remaining == CLIENT_PAYLOAD
    assert result.header.raw + result.remaining == capture.data
    return result


def _assert_client_endpoints(result: Parsed, capture: Capture) -> None:
    header = result.header
    assert header.command is Command.PROXY
    assert header.family is Family.INET
    assert header.transport is Transport.STREAM
    assert header.source == (LOCALHOST, capture.client_port)
    assert header.destination == (LOCALHOST, capture.frontend_port)


def test_haproxy_send_proxy_is_a_v1_line_with_the_client_endpoints(
    haproxy_send_proxy: Capture,
) -> None:
    result = _parse_relayed(haproxy_send_proxy, Versions.V1)
    assert result.header.version == 1
    assert result.header.raw.startswith(b"PROXY TCP4 ")
    _assert_client_endpoints(result, haproxy_send_proxy)


def test_haproxy_send_proxy_v2_is_a_tcp4_header_without_tlvs(
    haproxy_send_proxy_v2: Capture,
) -> None:
    result = _parse_relayed(haproxy_send_proxy_v2, Versions.V2)
    assert result.header.version == 2
    assert result.header.tlvs == ()
    assert len(result.header.raw) == 16 + 12
    _assert_client_endpoints(result, haproxy_send_proxy_v2)


def test_haproxy_unique_id_and_crc32c_options_are_decoded_and_verified(
    haproxy_v2_unique_id_crc32c: Capture,
) -> None:
    result = _parse_relayed(haproxy_v2_unique_id_crc32c)
    header = result.header
    _assert_client_endpoints(result, haproxy_v2_unique_id_crc32c)
    expected_id = f"corral-127.0.0.1-{haproxy_v2_unique_id_crc32c.client_port}".encode()
    assert header.unique_id == expected_id
    assert header.crc32c is not None
    # Independent re-check of the checksum HAProxy computed (section 2.2.3).
    raw = bytearray(header.raw)
    pos = raw.index(bytes((0x03, 0x00, 0x04))) + 3
    raw[pos : pos + 4] = b"\0\0\0\0"
    assert crc32c(bytes(raw)) == header.crc32c


def test_haproxy_v2_with_a_flipped_byte_fails_its_own_crc32c(
    haproxy_v2_unique_id_crc32c: Capture,
) -> None:
    data = bytearray(haproxy_v2_unique_id_crc32c.data)
    data[-len(CLIENT_PAYLOAD) - 1] ^= 0x01  # last byte of the unique id
    with pytest.raises(ChecksumMismatch):
        parse(bytes(data))


def test_haproxy_send_proxy_v2_ssl_reports_the_tls_version(haproxy_v2_ssl: Capture) -> None:
    result = _parse_relayed(haproxy_v2_ssl)
    _assert_client_endpoints(result, haproxy_v2_ssl)
    ssl = result.header.ssl
    assert ssl is not None
    assert ssl.ssl
    assert ssl.client & SSLClient.SSL
    assert ssl.version is not None and ssl.version.startswith("TLSv1.")


def test_haproxy_send_proxy_v2_ssl_cn_carries_the_client_certificate_details(
    haproxy_v2_ssl_cn: Capture,
) -> None:
    result = _parse_relayed(haproxy_v2_ssl_cn)
    header = result.header
    _assert_client_endpoints(result, haproxy_v2_ssl_cn)
    ssl = header.ssl
    assert ssl is not None
    assert ssl.client == SSLClient.SSL | SSLClient.CERT_CONN | SSLClient.CERT_SESS
    assert ssl.verify == 0 and ssl.verified
    assert ssl.cn == "corral-test-client"
    assert ssl.cipher is not None and ssl.cipher.startswith("TLS_")
    assert ssl.sig_alg is not None and ssl.key_alg is not None
    assert header.authority == "localhost"  # the SNI the client sent
    assert header.alpn == b"http/1.1"
    assert header.crc32c is not None


def test_haproxy_v2_health_check_sends_local(haproxy_check_v2: Capture) -> None:
    result = parse(haproxy_check_v2.data, Versions.V2)
    header = result.header
    assert header.command is Command.LOCAL and header.is_local
    assert header.source is None and header.destination is None
    assert result.remaining == b""


def test_haproxy_v2_health_check_with_tlvs_is_skipped_as_local(
    haproxy_check_v2_crc32c: Capture,
) -> None:
    result = parse(haproxy_check_v2_crc32c.data, Versions.V2)
    assert result.header.is_local
    # HAProxy really sends LOCAL with a non-zero length here (a CRC32C TLV);
    # section 2.2: receivers "must not assume zero is presented for LOCAL".
    assert len(result.header.raw) > 16
    assert result.header.tlvs == ()
    assert result.remaining == b""


def test_haproxy_check_send_proxy_sends_a_v1_line_for_the_checker(
    haproxy_check_send_proxy: Capture,
) -> None:
    result = parse(haproxy_check_send_proxy.data, Versions.V1)
    header = result.header
    assert header.version == 1
    assert header.destination == (LOCALHOST, haproxy_check_send_proxy.backend_port)


def test_stunnel_protocol_proxy_sends_a_v1_line(stunnel_protocol_proxy: Capture) -> None:
    result = _parse_relayed(stunnel_protocol_proxy, Versions.V1)
    _assert_client_endpoints(result, stunnel_protocol_proxy)


@pytest.mark.parametrize(
    "name",
    [
        "haproxy_send_proxy",
        "haproxy_send_proxy_v2",
        "haproxy_v2_unique_id_crc32c",
        "haproxy_v2_ssl_cn",
        "stunnel_protocol_proxy",
    ],
)
def test_captured_bytes_parse_identically_at_every_split_point(
    name: str, request: pytest.FixtureRequest
) -> None:
    capture: Capture = request.getfixturevalue(name)
    whole = parse(capture.data)
    for cut in range(len(capture.data) + 1):
        parser = Parser()
        first = parser.feed(capture.data[:cut])
        if first is NEED_DATA:
            second = parser.feed(capture.data[cut:])
            assert second is not NEED_DATA, cut
            assert second == whole, cut
        else:
            assert cut >= len(whole.header.raw)
            assert first.header == whole.header
            assert first.remaining + capture.data[cut:] == whole.remaining
