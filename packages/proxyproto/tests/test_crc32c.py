from __future__ import annotations

import zlib

from corral_proxyproto import crc32c
from hypothesis import given
from hypothesis import strategies as st


def test_check_value_of_the_castagnoli_polynomial() -> None:
    # The standard CRC-32C check value (RFC 3720 / RFC 4960 Appendix B family).
    assert crc32c(b"123456789") == 0xE3069283


def test_known_vectors_from_rfc3720_appendix_b4() -> None:
    assert crc32c(bytes(32)) == 0x8A9136AA
    assert crc32c(b"\xff" * 32) == 0x62A8AB43
    assert crc32c(bytes(range(32))) == 0x46DD794E


def test_empty_input_is_zero() -> None:
    assert crc32c(b"") == 0


def test_differs_from_zlib_crc32() -> None:
    assert crc32c(b"123456789") != zlib.crc32(b"123456789")


@given(st.binary(), st.binary())
def test_can_be_continued_over_chunks(a: bytes, b: bytes) -> None:
    assert crc32c(b, crc32c(a)) == crc32c(a + b)


def test_accepts_bytearray_and_memoryview() -> None:
    assert crc32c(bytearray(b"123456789")) == crc32c(memoryview(b"123456789")) == 0xE3069283
