"""CRC32c (Castagnoli), as section 2.2.3 requires via RFC 4960 Appendix B.

Pure Python, table driven: the reflected polynomial 0x82F63B78, initial value
and final XOR 0xFFFFFFFF.  The 256-entry table is computed once at import.
"""

from __future__ import annotations

__all__ = ["crc32c"]

_POLY = 0x82F63B78


def _make_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ _POLY if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_TABLE = _make_table()


def crc32c(data: bytes | bytearray | memoryview, crc: int = 0) -> int:
    """Return the CRC32c of *data*; pass a previous result as *crc* to continue it."""
    table = _TABLE
    value = crc ^ 0xFFFFFFFF
    for byte in bytes(data):
        value = table[(value ^ byte) & 0xFF] ^ (value >> 8)
    return value ^ 0xFFFFFFFF
