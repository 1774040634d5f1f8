"""The eventlet worker: ``corral -k eventlet``, for existing eventlet applications.

Everything a green worker does is in the core (:class:`corral.workers.green.GreenWorker`:
accepting under ``--worker-connections``, the hub heartbeat, graceful stop; and the one
request loop, :func:`corral.blocking.serve_connection`). This module only gives it
eventlet's primitives, and patches the standard library before the application is
imported: in the forked child, and in the master too with ``--preload``
(``prepare_master``; see patch.py for why the master leaves ``os`` alone).

One thing is eventlet's own: :class:`ClientSocket`, the accepted socket read through one
hub listener kept for the connection's life (a ``GreenSocket`` adds a listener before each
wait and removes it after: two ``epoll_ctl`` calls per keep-alive request).
"""

from __future__ import annotations

import socket
from typing import Any

import eventlet
import greenlet
from corral.workers.green import GreenWorker, dup_socket
from eventlet import patcher
from eventlet.greenio import GreenSocket
from eventlet.hubs import get_hub, trampoline
from eventlet.semaphore import Semaphore

from .patch import after_fork, patch


class EventletWorker(GreenWorker):
    """Serves each connection in its own green thread; ``-k eventlet``."""

    @classmethod
    def prepare_master(cls, cfg: Any) -> None:
        """With ``--preload``: patch the master before it imports the application."""
        patch(master=True)

    def green_prepare(self) -> None:
        after_fork()
        patch()

    def green_spawn(self, func: Any, *args: Any) -> Any:
        return eventlet.spawn(func, *args)

    def green_current(self) -> Any:
        return eventlet.getcurrent()

    def green_throw(self, thread: Any, exc: BaseException) -> None:
        thread.throw(exc)

    def green_killall(self, threads: list[Any], timeout: float) -> None:
        for thread in threads:
            thread.kill()  # eventlet runs the killed thread's cleanup before returning

    def green_sleep(self, seconds: float) -> None:
        eventlet.sleep(seconds)

    def green_wait_readable(self, fd: int, timeout: float) -> bool:
        try:
            trampoline(fd, read=True, timeout=timeout, timeout_exc=socket.timeout)
        except TimeoutError:
            return False
        return True

    def green_wait_writable(self, fd: int) -> None:
        trampoline(fd, write=True)

    def green_socket(self, raw: socket.socket) -> socket.socket:
        sock: socket.socket = dup_socket(raw, GreenSocket)  # has every method the loop uses
        return sock

    def green_semaphore(self, value: int) -> Any:
        return Semaphore(value)

    def green_client(self, sock: socket.socket) -> Any:
        return ClientSocket(sock)

    def drain_wakeup(self) -> None:
        # eventlet's patched os.read() waits for data instead of raising
        # BlockingIOError, which would hang the inherited loop: read with the original.
        read = patcher.original("os").read
        try:
            while read(self.wakeup_r, 512):
                pass
        except OSError:
            pass


class ClientSocket:
    """An accepted connection whose reads wait on one hub listener kept while it lives.

    The listener switches to the green thread only while that thread waits in ``recv()``;
    if the socket turns readable while nobody waits (a pipelined request arriving while the
    application runs), the listener is removed, so the hub never spins on it, and the next
    ``recv()`` adds it again. Writes go through the ``GreenSocket``, which waits only when
    the peer's window is full.
    """

    __slots__ = ("_fileno", "_green", "_hub", "_listener", "_raw", "_waiter")

    def __init__(self, green: Any) -> None:
        self._green = green
        self._raw: socket.socket = green.fd  # the non-blocking socket underneath
        self._fileno = self._raw.fileno()
        self._hub = get_hub()
        self._listener: Any = None
        self._waiter: Any = None

    def recv(self, size: int) -> bytes:
        raw_recv = self._raw.recv
        while True:
            try:
                return raw_recv(size)
            except BlockingIOError:
                pass
            self._wait_readable()

    def send(self, data: bytes | memoryview) -> int:
        try:
            return self._raw.send(data)
        except BlockingIOError:
            return int(self._green.send(data))

    def shutdown(self, how: int) -> None:
        self._raw.shutdown(how)

    def close(self) -> None:
        self._drop()
        self._green.close()

    def _wait_readable(self) -> None:
        hub = self._hub
        if self._listener is None:
            self._listener = hub.add(
                hub.READ, self._fileno, self._readable, self._thrown, self._closed
            )
        self._waiter = greenlet.getcurrent()
        try:
            hub.switch()
        finally:
            self._waiter = None

    def _readable(self, fileno: int) -> None:
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            waiter.switch()
        else:
            self._drop()

    def _thrown(self, exc: BaseException) -> None:
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            waiter.throw(exc)

    def _closed(self) -> None:
        self._listener = None  # the hub dropped it: the descriptor number was reused

    def _drop(self) -> None:
        listener, self._listener = self._listener, None
        hub = self._hub
        # The hub may have dropped it already (remove_descriptor on a bad descriptor).
        if listener is not None and hub.listeners[hub.READ].get(self._fileno) is listener:
            hub.remove(listener)
