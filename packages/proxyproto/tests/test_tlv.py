"""TLV vectors, section 2.2 and 2.2.1-2.2.8."""

from __future__ import annotations

import copy
import dataclasses
import pickle
from collections.abc import Callable

import pytest
from corral_proxyproto import (
    CRC32CTLV,
    SSLTLV,
    TLV,
    AlpnTLV,
    AuthorityTLV,
    CustomTLV,
    MalformedTLV,
    NetnsTLV,
    NoopTLV,
    SSLClient,
    TLVOverrun,
    TLVType,
    UniqueIdTLV,
    UniqueIdTooLong,
    build_v2,
    make_ssl_tlv,
    parse,
)

SIG = b"\r\n\r\n\x00\r\nQUIT\n"
V4_BLOCK = bytes([127, 0, 0, 1, 127, 0, 0, 2, 0, 1, 0, 2])


def with_tlv_bytes(tlv_bytes: bytes) -> bytes:
    body = V4_BLOCK + tlv_bytes
    return SIG + bytes([0x21, 0x11, len(body) >> 8, len(body) & 0xFF]) + body


def tlvs_of(*tlvs: TLV) -> tuple[TLV, ...]:
    return parse(build_v2(("127.0.0.1", 1), ("127.0.0.2", 2), tlvs=tlvs)).header.tlvs


def test_registered_types_decode_to_typed_values() -> None:
    parsed = tlvs_of(
        TLV(TLVType.ALPN, b"h2"),
        TLV(TLVType.AUTHORITY, "bücher.example".encode()),
        TLV(TLVType.NOOP, b"\0\0"),
        TLV(TLVType.UNIQUE_ID, b"id-1"),
        TLV(TLVType.NETNS, b"blue"),
    )
    alpn, authority, noop, uid, netns = parsed
    assert isinstance(alpn, AlpnTLV) and alpn.protocol == b"h2"
    assert isinstance(authority, AuthorityTLV) and authority.host == "bücher.example"
    assert isinstance(noop, NoopTLV)
    assert isinstance(uid, UniqueIdTLV) and uid.unique_id == b"id-1"
    assert isinstance(netns, NetnsTLV) and netns.name == "blue"


@pytest.mark.parametrize("tlv_type", range(0xE0, 0xF0))
def test_custom_range_is_kept_raw(tlv_type: int) -> None:
    (tlv,) = tlvs_of(TLV(tlv_type, b"\x01raw"))
    assert isinstance(tlv, CustomTLV)
    assert tlv.value == b"\x01raw"


@pytest.mark.parametrize("tlv_type", [0x00, 0x06, 0x1F, 0x21, 0x28, 0x31, 0xDF, 0xF0, 0xF8, 0xFF])
def test_unknown_types_are_kept_and_ignored(tlv_type: int) -> None:
    (tlv,) = tlvs_of(TLV(tlv_type, b"?"))
    assert type(tlv) is TLV
    assert (tlv.type, tlv.value) == (tlv_type, b"?")


def test_unique_id_of_128_bytes_is_accepted_and_129_rejected() -> None:
    assert tlvs_of(TLV(TLVType.UNIQUE_ID, b"u" * 128))[0].value == b"u" * 128
    with pytest.raises(UniqueIdTooLong):
        tlvs_of(TLV(TLVType.UNIQUE_ID, b"u" * 129))


@pytest.mark.parametrize("size", [0, 3, 5])
def test_crc32c_value_must_be_four_bytes(size: int) -> None:
    with pytest.raises(MalformedTLV):
        tlvs_of(TLV(TLVType.CRC32C, bytes(size)))


def test_two_crc32c_vectors_are_rejected() -> None:
    with pytest.raises(MalformedTLV):
        tlvs_of(TLV(TLVType.CRC32C, bytes(4)), TLV(TLVType.CRC32C, bytes(4)))


def test_crc32c_tlv_is_typed() -> None:
    data = build_v2(("127.0.0.1", 1), ("127.0.0.2", 2), crc32c_checksum=True)
    (tlv,) = parse(data).header.tlvs
    assert isinstance(tlv, CRC32CTLV)
    assert tlv.checksum == int.from_bytes(data[-4:], "big")


@pytest.mark.parametrize(
    ("tlv_type", "value"),
    [
        (TLVType.AUTHORITY, b"\xff\xfe"),
        (TLVType.NETNS, "ns-é".encode()),
    ],
)
def test_text_values_must_have_their_encoding(tlv_type: int, value: bytes) -> None:
    with pytest.raises(MalformedTLV):
        tlvs_of(TLV(tlv_type, value))


@pytest.mark.parametrize(
    "tlv_bytes",
    [
        b"\x01\x00\x05abc",  # value overruns the header
        b"\x01\x00",  # TLV header cut short
        b"\x04",
        b"\x01\x00\x01a\x04\x00\x02z",  # second one overruns
    ],
)
def test_tlv_overrunning_the_header_is_rejected(tlv_bytes: bytes) -> None:
    with pytest.raises(TLVOverrun):
        parse(with_tlv_bytes(tlv_bytes))


# -- SSL (section 2.2.6) -----------------------------------------------------


def test_ssl_with_every_registered_subtype() -> None:
    tlv = make_ssl_tlv(
        SSLClient.SSL | SSLClient.CERT_CONN,
        0,
        version="TLSv1.3",
        cn="Ünïcode CN",
        cipher="TLS_AES_128_GCM_SHA256",
        sig_alg="RSA-SHA256",
        key_alg="RSA2048",
        group="X25519",
        sig_scheme="rsa_pss_rsae_sha256",
        client_cert=b"\x30\x82der",
        extra=[TLV(0x2F, b"future")],
    )
    (ssl,) = tlvs_of(tlv)
    assert isinstance(ssl, SSLTLV)
    assert ssl.client == SSLClient.SSL | SSLClient.CERT_CONN
    assert ssl.ssl and ssl.verified
    assert ssl.version == "TLSv1.3"
    assert ssl.cn == "Ünïcode CN"
    assert ssl.cipher == "TLS_AES_128_GCM_SHA256"
    assert ssl.sig_alg == "RSA-SHA256"
    assert ssl.key_alg == "RSA2048"
    assert ssl.group == "X25519"
    assert ssl.sig_scheme == "rsa_pss_rsae_sha256"
    assert ssl.client_cert == b"\x30\x82der"
    assert ssl.sub_tlvs[-1] == TLV(0x2F, b"future")
    assert len(ssl.sub_tlvs) == 9


def test_ssl_without_client_ssl_and_failed_verify() -> None:
    (ssl,) = tlvs_of(make_ssl_tlv(0, 20))
    assert isinstance(ssl, SSLTLV)
    assert not ssl.ssl and not ssl.verified
    assert ssl.verify == 20
    assert ssl.sub_tlvs == () and ssl.version is None


def test_first_occurrence_of_a_sub_tlv_wins() -> None:
    tlv = make_ssl_tlv(
        version="TLSv1.2",
        client_cert=b"one",
        extra=[TLV(0x21, b"TLSv1.3"), TLV(0x28, b"two")],
    )
    (ssl,) = tlvs_of(tlv)
    assert isinstance(ssl, SSLTLV)
    assert ssl.version == "TLSv1.2" and ssl.client_cert == b"one"


@pytest.mark.parametrize("size", range(5))
def test_ssl_value_shorter_than_client_and_verify_is_malformed(size: int) -> None:
    with pytest.raises(MalformedTLV):
        tlvs_of(TLV(TLVType.SSL, bytes(size)))


def test_sub_tlv_overrunning_the_ssl_tlv_is_rejected() -> None:
    value = b"\x01\x00\x00\x00\x00" + b"\x21\x00\x09TLS"
    with pytest.raises(TLVOverrun):
        tlvs_of(TLV(TLVType.SSL, value))


@pytest.mark.parametrize("sub_type", [0x21, 0x23, 0x24, 0x25, 0x26, 0x27])
def test_ascii_sub_tlvs_reject_non_ascii(sub_type: int) -> None:
    with pytest.raises(MalformedTLV):
        tlvs_of(TLV(TLVType.SSL, b"\x01\0\0\0\0" + bytes([sub_type, 0, 1, 0xC3])))


def test_cn_rejects_invalid_utf8() -> None:
    with pytest.raises(MalformedTLV):
        tlvs_of(TLV(TLVType.SSL, b"\x01\0\0\0\0" + b"\x22\x00\x01\xff"))


def test_parsed_ssl_tlv_behaves_as_one_built_directly() -> None:
    """The parser decodes the SSL fields on first access; nothing else may tell."""
    value = make_ssl_tlv(
        SSLClient.SSL | SSLClient.CERT_SESS,
        7,
        version="TLSv1.2",
        cn="Ünïcode CN",
        client_cert=b"der",
        extra=[TLV(0x2F, b"future"), TLV(0x21, b"TLSv1.3")],
    ).value
    direct = SSLTLV(
        0x20,
        value,
        SSLClient.SSL | SSLClient.CERT_SESS,
        7,
        (
            TLV(0x21, b"TLSv1.2"),
            TLV(0x22, "Ünïcode CN".encode()),
            TLV(0x28, b"der"),
            TLV(0x2F, b"future"),
            TLV(0x21, b"TLSv1.3"),
        ),
        version="TLSv1.2",
        cn="Ünïcode CN",
        client_cert=b"der",
    )
    # Each way in, on a fresh parse: equality, hash, repr, pickling, copying,
    # dataclass helpers and plain attribute reads.
    readers: list[Callable[[SSLTLV], object]] = [
        lambda t: t == direct,
        hash,
        repr,
        lambda t: pickle.loads(pickle.dumps(t)),
        copy.copy,
        dataclasses.astuple,
        lambda t: dataclasses.replace(t),
        lambda t: t.cipher,
        lambda t: t.verified,
    ]
    for read in readers:
        (parsed,) = tlvs_of(TLV(TLVType.SSL, value))
        assert isinstance(parsed, SSLTLV)
        read(parsed)
        assert parsed == direct
        assert hash(parsed) == hash(direct)
        assert repr(parsed) == repr(direct)
        assert pickle.loads(pickle.dumps(parsed)) == direct


def test_ssl_tlv_unknown_attribute_is_an_attribute_error() -> None:
    (parsed,) = tlvs_of(make_ssl_tlv(version="TLSv1.3"))
    with pytest.raises(AttributeError, match="no attribute 'verison'"):
        parsed.verison  # type: ignore[attr-defined]  # noqa: B018
    assert getattr(parsed, "__deepcopy__", None) is None
    assert copy.deepcopy(parsed) == parsed
