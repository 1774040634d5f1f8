"""Worker liveness and life-cycle state, without touching the disk.

The master maps one anonymous shared-memory region before forking. Each worker owns one
slot in it, four 8-byte words: the ``time.monotonic()`` of its last beat, stored from its
loop (CLOCK_MONOTONIC is system-wide on Linux, so the master compares it with its own
clock), and when it began to retire (0: it has not), which a worker that retires on its
own (``--max-requests``) sets so the master starts its replacement at once, and when it
booted (loaded the application), which a reload waits for, and whether it must accept
what waits in its listening sockets before closing them (``--reuse-port``: the master is
closing a socket only this worker still holds), and why it retires on its own
(``RETIRE_MAX_REQUESTS``, ``RETIRE_RELOAD``; the metrics count restarts by cause). One more word
after the slots says the whole server is stopping (the master sets it before it sends
TERM), which is how a retiring worker tells a server stop from its own retirement. No
file, no ``fchmod``: Gunicorn's temporary-file heartbeat stalls when the temporary
directory is on a slow disk, which this design cannot do.
"""

from __future__ import annotations

import mmap
import struct
import time

_SLOT = struct.Struct("ddddd")  # last beat, retiring since, booted at, drain, own cause
_FLAG = struct.Struct("d")

# Why a worker retires on its own (0.0: it does not, or the master asked).
RETIRE_MAX_REQUESTS = 1.0
RETIRE_RELOAD = 2.0
RETIRE_CAUSES = {RETIRE_MAX_REQUESTS: "max-requests", RETIRE_RELOAD: "reload"}


class HeartbeatTable:
    """``capacity`` slots in memory shared by the master and its forked workers."""

    def __init__(self, capacity: int = 1024) -> None:
        self.capacity = capacity
        self._stop_at = capacity * _SLOT.size
        self._mem = mmap.mmap(-1, self._stop_at + _FLAG.size)  # MAP_SHARED | MAP_ANONYMOUS
        self._free = list(range(capacity - 1, -1, -1))

    def allocate(self) -> int:
        """Take a free slot (master side), stamped with the current time, not retiring."""
        if not self._free:
            raise RuntimeError(f"more than {self.capacity} workers")
        index = self._free.pop()
        _SLOT.pack_into(self._mem, index * _SLOT.size, time.monotonic(), 0.0, 0.0, 0.0, 0.0)
        return index

    def release(self, index: int) -> None:
        self._free.append(index)

    def beat(self, index: int) -> None:
        _FLAG.pack_into(self._mem, index * _SLOT.size, time.monotonic())

    def last(self, index: int) -> float:
        value: float = _SLOT.unpack_from(self._mem, index * _SLOT.size)[0]
        return value

    def silent_for(self, index: int) -> float:
        return time.monotonic() - self.last(index)

    def mark_retiring(self, index: int, drain: bool = False, cause: float = 0.0) -> None:
        """Before TERM: the worker retires (``drain``: taking its sockets' queue first).
        A worker retiring on its own says why (``cause``)."""
        offset = index * _SLOT.size
        if drain:  # written before the TERM that makes the worker read it
            _FLAG.pack_into(self._mem, offset + 3 * _FLAG.size, 1.0)
        if cause:
            _FLAG.pack_into(self._mem, offset + 4 * _FLAG.size, cause)
        _FLAG.pack_into(self._mem, offset + _FLAG.size, time.monotonic())

    def retire_cause(self, index: int) -> float:
        """Why the worker retired on its own (a ``RETIRE_*`` value), 0.0 if it did not."""
        value: float = _SLOT.unpack_from(self._mem, index * _SLOT.size)[4]
        return value

    def must_drain(self, index: int) -> bool:
        value: float = _SLOT.unpack_from(self._mem, index * _SLOT.size)[3]
        return value != 0.0

    def retiring(self, index: int) -> bool:
        value: float = _SLOT.unpack_from(self._mem, index * _SLOT.size)[1]
        return value != 0.0

    def mark_booted(self, index: int) -> None:
        _FLAG.pack_into(self._mem, index * _SLOT.size + 2 * _FLAG.size, time.monotonic())

    def booted(self, index: int) -> bool:
        value: float = _SLOT.unpack_from(self._mem, index * _SLOT.size)[2]
        return value != 0.0

    @property
    def stopping(self) -> bool:
        value: float = _FLAG.unpack_from(self._mem, self._stop_at)[0]
        return value != 0.0

    def mark_stopping(self) -> None:
        _FLAG.pack_into(self._mem, self._stop_at, time.monotonic())

    def close(self) -> None:
        self._mem.close()


class Heartbeat:
    """One worker's handle on its slot. ``beat()`` is a closure: it runs per request."""

    __slots__ = ("beat", "index", "table")

    def __init__(self, table: HeartbeatTable, index: int) -> None:
        self.table = table
        self.index = index
        pack_into, mem, offset, now = (
            _FLAG.pack_into,
            table._mem,
            index * _SLOT.size,
            time.monotonic,
        )

        def beat() -> None:
            pack_into(mem, offset, now())

        self.beat = beat

    def retiring(self, cause: float = RETIRE_MAX_REQUESTS) -> None:
        """Tell the master this worker has begun to retire on its own, and why."""
        self.table.mark_retiring(self.index, cause=cause)

    def booted(self) -> None:
        """Tell the master this worker has loaded the application and serves."""
        self.table.mark_booted(self.index)

    @property
    def server_stopping(self) -> bool:
        return self.table.stopping

    @property
    def must_drain(self) -> bool:
        """The master closes this worker's listening sockets: take their queue first."""
        return self.table.must_drain(self.index)
