"""The eventlet worker: ``corral -k eventlet``, for existing eventlet applications.

Everything a green worker does is in the core (:class:`corral.workers.green.GreenWorker`:
accepting under ``--worker-connections``, the hub heartbeat, graceful stop; and the one
request loop, :func:`corral.blocking.serve_connection`). This module only gives it
eventlet's primitives, and patches the standard library before the application is
imported: in the forked child, and in the master too with ``--preload``
(``prepare_master``; see patch.py for why the master leaves ``os`` alone).
"""

from __future__ import annotations

import socket
from typing import Any

import eventlet
from corral.workers.green import GreenWorker, dup_socket
from eventlet import patcher
from eventlet.greenio import GreenSocket
from eventlet.hubs import trampoline
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

    def green_socket(self, raw: socket.socket) -> socket.socket:
        sock: socket.socket = dup_socket(raw, GreenSocket)  # has every method the loop uses
        return sock

    def green_semaphore(self, value: int) -> Any:
        return Semaphore(value)

    def drain_wakeup(self) -> None:
        # eventlet's patched os.read() waits for data instead of raising
        # BlockingIOError, which would hang the inherited loop: read with the original.
        read = patcher.original("os").read
        try:
            while read(self.wakeup_r, 512):
                pass
        except OSError:
            pass
