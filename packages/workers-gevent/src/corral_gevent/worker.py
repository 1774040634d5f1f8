"""The gevent worker: ``corral -k gevent``.

Everything a green worker does is in the core (:class:`corral.workers.green.GreenWorker`:
accepting under ``--worker-connections``, the hub heartbeat, graceful stop; and the one
request loop, :func:`corral.blocking.serve_connection`). This module only gives it gevent's
primitives, and patches the standard library before the application is imported: in the
forked child, and in the master too with ``--preload`` (``prepare_master``).
"""

from __future__ import annotations

import socket
from typing import Any

import gevent
from corral.workers.green import GreenWorker, dup_socket
from gevent import socket as gsocket
from gevent.lock import Semaphore

from .patch import after_fork, patch


class GeventWorker(GreenWorker):
    """Serves each connection in its own greenlet; ``-k gevent``."""

    @classmethod
    def prepare_master(cls, cfg: Any) -> None:
        """With ``--preload``: patch the master before it imports the application."""
        patch()

    def green_prepare(self) -> None:
        after_fork()
        patch()
        # The hub now, with everything it imports, while the worker may still read all
        # that the master can (--user switches identity right after this).
        gevent.get_hub()

    def green_spawn(self, func: Any, *args: Any) -> Any:
        return gevent.spawn(func, *args)

    def green_current(self) -> Any:
        return gevent.getcurrent()

    def green_throw(self, thread: Any, exc: BaseException) -> None:
        thread.throw(exc)

    def green_killall(self, threads: list[Any], timeout: float) -> None:
        gevent.killall(threads, timeout=timeout)

    def green_sleep(self, seconds: float) -> None:
        gevent.sleep(seconds)

    def green_wait_readable(self, fd: int, timeout: float) -> bool:
        try:
            gsocket.wait_read(fd, timeout=timeout)
        except TimeoutError:
            return False
        return True

    def green_wait_writable(self, fd: int) -> None:
        gsocket.wait_write(fd)

    def green_socket(self, raw: socket.socket) -> socket.socket:
        return dup_socket(raw, gsocket.socket)

    def green_semaphore(self, value: int) -> Any:
        return Semaphore(value)
