from __future__ import annotations

import corral_proxyproto as pp
import pytest

LEAVES = [
    pp.NotProxyProtocol,
    pp.VersionNotAllowed,
    pp.InvalidV1Header,
    pp.HeaderTooLong,
    pp.UnsupportedVersion,
    pp.InvalidCommand,
    pp.InvalidAddressFamily,
    pp.TruncatedHeader,
    pp.IncompleteHeader,
    pp.TLVOverrun,
    pp.MalformedTLV,
    pp.UniqueIdTooLong,
    pp.ChecksumMismatch,
    pp.ParserStateError,
]


@pytest.mark.parametrize("exc", LEAVES)
def test_every_error_is_a_proxy_protocol_error(exc: type[Exception]) -> None:
    assert issubclass(exc, pp.ProxyProtocolError)


@pytest.mark.parametrize("exc", [pp.TLVOverrun, pp.MalformedTLV, pp.UniqueIdTooLong])
def test_tlv_errors_share_a_base(exc: type[Exception]) -> None:
    assert issubclass(exc, pp.InvalidTLV)


def test_invalid_signature_is_an_alias_of_not_proxy_protocol() -> None:
    assert pp.InvalidSignature is pp.NotProxyProtocol


def test_parser_state_error_is_also_a_runtime_error() -> None:
    assert issubclass(pp.ParserStateError, RuntimeError)


def test_errors_are_distinct_classes() -> None:
    assert len(set(LEAVES)) == len(LEAVES)
