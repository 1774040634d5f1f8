"""The entry-point face of the codec: plain-data results for servers that load it by name."""

from __future__ import annotations

import pytest
from corral_proxyproto import (
    TLV,
    Command,
    CustomTLV,
    Family,
    InvalidV1Header,
    ProxyHeader,
    TLVType,
    Transport,
    UnixAddress,
    VersionNotAllowed,
    build_v1,
    build_v2,
    make_ssl_tlv,
)
from corral_proxyproto import corral_plugin as plugin


def feed_all(versions: str, data: bytes) -> tuple[dict, bytes]:
    reader = plugin.new_reader(versions)
    result = None
    for i in range(len(data)):  # one byte at a time: "need more" until the end
        result = reader.feed(data[i : i + 1])
        if result is not None:
            assert i == len(data) - 1 or data[i + 1 :] == result[1]
            break
    assert result is not None
    return result


def test_api_surface() -> None:
    assert plugin.API_VERSION == 1
    assert all(issubclass(e, Exception) for e in plugin.ERRORS)
    with pytest.raises(ValueError, match="versions must be one of"):
        plugin.new_reader("v3")


def test_v1_tcp4_with_request_bytes_after_it() -> None:
    header = build_v1(("192.0.2.1", 5000), ("198.51.100.2", 443))
    info, rest = plugin.new_reader("auto").feed(header + b"GET / HTTP/1.1\r\n")
    assert rest == b"GET / HTTP/1.1\r\n"
    assert info["version"] == 1 and info["command"] == "PROXY" and info["protocol"] == "TCP4"
    assert info["source"] == ("192.0.2.1", 5000)
    assert info["destination"] == ("198.51.100.2", 443)
    assert info["ssl"] is False and info["tlvs"] == {}
    assert isinstance(info["header"], ProxyHeader)


def test_v1_unknown_has_no_addresses() -> None:
    info, _ = feed_all("v1", build_v1())
    assert info["protocol"] == "UNKNOWN" and info["source"] is None


def test_v2_local_health_check() -> None:
    info, _ = plugin.new_reader("v2").feed(build_v2(command=Command.LOCAL))
    assert info["command"] == "LOCAL" and info["source"] is None


def test_v2_tcp6_with_every_known_tlv() -> None:
    tlvs = [
        TLV(TLVType.ALPN, b"h2"),
        TLV(TLVType.AUTHORITY, b"example.org"),
        TLV(TLVType.UNIQUE_ID, b"req-42"),
        TLV(TLVType.NETNS, b"blue"),
        make_ssl_tlv(
            version="TLSv1.3",
            cn="client",
            cipher="TLS_AES_128_GCM_SHA256",
            sig_alg="RSA-SHA256",
            key_alg="RSA2048",
        ),
        CustomTLV(0xEA, b"\x01vpce-0123"),
        CustomTLV(0xEE, b"\x01" + (7).to_bytes(4, "little")),
        CustomTLV(0xE0, (9).to_bytes(8, "big")),
    ]
    data = build_v2(("2001:db8::1", 4000), ("2001:db8::2", 443), tlvs=tlvs, crc32c_checksum=True)
    info, rest = feed_all("auto", data)
    assert rest == b""
    assert info["protocol"] == "TCP6" and info["source"] == ("2001:db8::1", 4000)
    assert info["ssl"] is True
    t = info["tlvs"]
    assert t["alpn"] == "h2" and t["authority"] == "example.org" and t["unique_id"] == "req-42"
    assert t["netns"] == "blue" and isinstance(t["crc32c"], int)
    assert t["ssl"] == {
        "ssl": True,
        "verified": True,
        "version": "TLSv1.3",
        "cn": "client",
        "cipher": "TLS_AES_128_GCM_SHA256",
        "sig_alg": "RSA-SHA256",
        "key_alg": "RSA2048",
    }
    assert t["aws_vpc_endpoint_id"] == "vpce-0123"
    assert t["azure_private_endpoint_link_id"] == 7
    assert t["gcp_psc_connection_id"] == 9


@pytest.mark.parametrize(
    ("family", "transport", "source", "protocol"),
    [
        (Family.INET, Transport.DGRAM, ("192.0.2.1", 53), "UDP4"),
        (Family.INET6, Transport.DGRAM, ("2001:db8::1", 53), "UDP6"),
        (Family.UNIX, Transport.STREAM, UnixAddress(b"/run/a.sock"), "UNIX"),
        (Family.UNIX, Transport.DGRAM, UnixAddress(b"/run/b.sock"), "UNIX_DGRAM"),
    ],
)
def test_v2_other_families(
    family: Family, transport: Transport, source: object, protocol: str
) -> None:
    destination = source
    data = build_v2(source, destination, family=family, transport=transport)  # type: ignore[arg-type]
    info, _ = plugin.new_reader("v2").feed(data)
    assert info["protocol"] == protocol
    if isinstance(source, UnixAddress):
        assert info["source"] == source.path.decode()


def test_v2_unspec_is_unknown() -> None:
    data = build_v2(family=Family.UNSPEC, transport=Transport.UNSPEC)
    info, _ = plugin.new_reader("auto").feed(data)
    assert info["protocol"] == "UNKNOWN" and info["source"] is None


def test_errors_are_the_declared_family() -> None:
    with pytest.raises(plugin.ERRORS) as info:
        plugin.new_reader("v1").feed(b"PROXY TCP4 01.2.3.4 1.2.3.4 1 2\r\n")
    assert isinstance(info.value, InvalidV1Header)
    with pytest.raises(plugin.ERRORS) as info2:
        plugin.new_reader("v1").feed(build_v2(command=Command.LOCAL))
    assert isinstance(info2.value, VersionNotAllowed)
