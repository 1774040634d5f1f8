"""Worker liveness without touching the disk.

The master maps one anonymous shared-memory region before forking; each worker owns one
8-byte slot in it and stores ``time.monotonic()`` there from its loop. CLOCK_MONOTONIC is
system-wide on Linux, so the master compares the slot with its own clock. No file, no
``fchmod``: Gunicorn's temporary-file heartbeat stalls when the temporary directory is on
a slow disk, which this design cannot do.
"""

from __future__ import annotations

import mmap
import struct
import time

_SLOT = struct.Struct("d")


class HeartbeatTable:
    """``capacity`` slots in memory shared by the master and its forked workers."""

    def __init__(self, capacity: int = 1024) -> None:
        self.capacity = capacity
        self._mem = mmap.mmap(-1, capacity * _SLOT.size)  # MAP_SHARED | MAP_ANONYMOUS
        self._free = list(range(capacity - 1, -1, -1))

    def allocate(self) -> int:
        """Take a free slot (master side), stamped with the current time."""
        if not self._free:
            raise RuntimeError(f"more than {self.capacity} workers")
        index = self._free.pop()
        self.beat(index)
        return index

    def release(self, index: int) -> None:
        self._free.append(index)

    def beat(self, index: int) -> None:
        _SLOT.pack_into(self._mem, index * _SLOT.size, time.monotonic())

    def last(self, index: int) -> float:
        value: float = _SLOT.unpack_from(self._mem, index * _SLOT.size)[0]
        return value

    def silent_for(self, index: int) -> float:
        return time.monotonic() - self.last(index)

    def close(self) -> None:
        self._mem.close()


class Heartbeat:
    """One worker's handle on its slot."""

    __slots__ = ("index", "table")

    def __init__(self, table: HeartbeatTable, index: int) -> None:
        self.table = table
        self.index = index

    def beat(self) -> None:
        self.table.beat(self.index)
