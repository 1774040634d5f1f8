"""ProxyHeader convenience properties and the cloud vendors' custom TLVs."""

from __future__ import annotations

import dataclasses

import pytest
from corral_proxyproto import (
    TLV,
    Command,
    MalformedTLV,
    ProxyHeader,
    TLVType,
    build_v1,
    build_v2,
    make_ssl_tlv,
    parse,
)


def header_with(*tlvs: TLV) -> ProxyHeader:
    return parse(build_v2(("10.0.0.1", 1), ("10.0.0.2", 2), tlvs=tlvs)).header


def test_header_is_frozen() -> None:
    header = header_with()
    with pytest.raises(dataclasses.FrozenInstanceError):
        header.version = 3  # type: ignore[misc]


def test_properties_are_none_without_tlvs() -> None:
    header = parse(build_v1(("1.2.3.4", 1), ("1.2.3.4", 2))).header
    assert header.alpn is None
    assert header.authority is None
    assert header.crc32c is None
    assert header.unique_id is None
    assert header.ssl is None
    assert header.netns is None
    assert header.aws_vpc_endpoint_id is None
    assert header.azure_private_endpoint_link_id is None
    assert header.gcp_psc_connection_id is None
    assert header.get_tlv(TLVType.ALPN) is None
    assert not header.is_local


def test_properties_read_the_first_tlv_of_each_type() -> None:
    header = header_with(
        TLV(TLVType.ALPN, b"h2"),
        TLV(TLVType.AUTHORITY, b"example.com"),
        TLV(TLVType.UNIQUE_ID, b"abc"),
        TLV(TLVType.NETNS, b"ns1"),
        make_ssl_tlv(version="TLSv1.3"),
        TLV(TLVType.ALPN, b"http/1.1"),
    )
    assert header.alpn == b"h2"
    assert header.authority == "example.com"
    assert header.unique_id == b"abc"
    assert header.netns == "ns1"
    assert header.ssl is not None and header.ssl.version == "TLSv1.3"


def test_local_header_is_local() -> None:
    assert parse(build_v2(command=Command.LOCAL)).header.is_local


# AWS: type 0xEA, subtype 0x01 (VPC endpoint id, ASCII).
def test_aws_vpc_endpoint_id() -> None:
    header = header_with(TLV(0xEA, b"\x02other"), TLV(0xEA, b"\x01vpce-08d2bf15fac5001c9"))
    assert header.aws_vpc_endpoint_id == "vpce-08d2bf15fac5001c9"


def test_aws_other_subtype_only_is_none() -> None:
    assert header_with(TLV(0xEA, b"\x02x"), TLV(0xEA, b"")).aws_vpc_endpoint_id is None


def test_aws_non_ascii_is_malformed() -> None:
    with pytest.raises(MalformedTLV):
        _ = header_with(TLV(0xEA, b"\x01vpce-\xff")).aws_vpc_endpoint_id


# Azure: type 0xEE, subtype 0x01, LinkID as UINT32 little-endian.
def test_azure_link_id_is_little_endian() -> None:
    header = header_with(TLV(0xEE, b"\x02zz"), TLV(0xEE, b"\x01\x01\x00\x00\x80"))
    assert header.azure_private_endpoint_link_id == 0x80000001


def test_azure_other_subtype_only_is_none() -> None:
    assert header_with(TLV(0xEE, b"\x05\0\0\0\0")).azure_private_endpoint_link_id is None


def test_azure_wrong_length_is_malformed() -> None:
    with pytest.raises(MalformedTLV):
        _ = header_with(TLV(0xEE, b"\x01\0\0\0")).azure_private_endpoint_link_id


# GCP: type 0xE0, pscConnectionId as an 8-byte big-endian unsigned integer.
def test_gcp_psc_connection_id_is_big_endian() -> None:
    header = header_with(TLV(0xE0, (0x0102030405060708).to_bytes(8, "big")))
    assert header.gcp_psc_connection_id == 0x0102030405060708


def test_gcp_wrong_length_is_malformed() -> None:
    with pytest.raises(MalformedTLV):
        _ = header_with(TLV(0xE0, b"\x01")).gcp_psc_connection_id
