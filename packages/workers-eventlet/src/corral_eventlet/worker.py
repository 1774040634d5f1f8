"""The eventlet worker: one green thread per connection, each driving the core's request loop.

Theory of operation. The HTTP work (parsing, keep-alive, pipelining, 100-continue, error
responses, deadlines) is all in the core: :func:`corral.blocking.serve_connection` drives a
streaming :class:`corral.session.Session` over a socket whose blocking calls only suspend
the calling green thread. This module adds what is specific to eventlet:

* patching: ``run()`` patches the standard library in the forked child before
  ``BaseWorker.run()`` imports the application (``prepare_master`` does it in the master
  for ``--preload``);
* accepting: one green thread per listening socket takes a free slot out of
  ``--worker-connections``, then accepts; while every slot is taken new connections wait in
  the kernel's backlog, where another worker may take them;
* liveness: the main greenlet is the heartbeat. It wakes once a second (at once on a
  signal), so a request that keeps the hub busy with CPU work stops the heartbeat and the
  master kills the worker after ``--timeout``;
* stopping: on TERM it stops accepting, closes idle keep-alive connections at once, lets
  requests in flight finish for up to ``--graceful-timeout`` seconds, then kills the rest.
"""

from __future__ import annotations

import errno
import os
import socket
import sys
import time
from types import FrameType
from typing import Any, NoReturn

import eventlet
import greenlet
from corral.blocking import serve_connection
from corral.session import Session
from corral.sockets import Listener
from corral.workers.base import BaseWorker
from eventlet import patcher
from eventlet.greenio import GreenSocket
from eventlet.hubs import trampoline
from eventlet.semaphore import Semaphore

from .patch import after_fork, patch

_ACCEPT_PAUSE = 0.5  # seconds to wait when accept() fails for lack of descriptors
_DRAIN_POLL = 0.05  # seconds between checks while requests in flight finish
_RESOURCE_ERRORS = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)


class EventletWorker(BaseWorker):
    """Serves each connection in its own green thread; ``-k eventlet``."""

    @classmethod
    def prepare_master(cls, cfg: Any) -> None:
        """With ``--preload``: patch the master before it imports the application."""
        patch(master=True)

    def run(self) -> None:
        after_fork()
        patch()  # before BaseWorker.run() imports the application
        self._main = greenlet.getcurrent()
        super().run()

    def serve(self) -> None:
        self.keepalive = float(self.cfg.keepalive)
        self.timeout = float(self.cfg.timeout) or 30.0
        self.beat = min(1.0, self.timeout / 4)
        self.slots = Semaphore(max(1, int(self.cfg.worker_connections)))
        self.clients: dict[Any, tuple[GreenSocket, Session]] = {}
        acceptors = [eventlet.spawn(self._accept, listener) for listener in self.sockets]
        self._beat_until_stopped()
        for acceptor in acceptors:
            acceptor.kill()
        self._finish_in_flight(float(self.cfg.graceful_timeout))
        # What is left is killed: its request loop closes the socket and the response.
        for client in list(self.clients):
            client.kill()

    # ------------------------------------------------------------- liveness

    def _beat_until_stopped(self) -> None:
        while self.alive:
            self.notify()
            try:
                trampoline(self.wakeup_r, read=True, timeout=self.beat, timeout_exc=socket.timeout)
            except TimeoutError:
                continue
            self.drain_wakeup()

    def drain_wakeup(self) -> None:
        # eventlet's patched os.read() waits for data instead of raising
        # BlockingIOError, which would hang the inherited loop: read with the original.
        read = patcher.original("os").read
        try:
            while read(self.wakeup_r, 512):
                pass
        except OSError:
            pass

    def _is_alive(self) -> bool:
        return self.alive

    # ------------------------------------------------------------ accepting

    def _accept(self, listener: Listener) -> None:
        raw = listener.sock
        # A cooperative socket on a duplicate of the inherited descriptor.
        lsock = GreenSocket(raw.family, raw.type, raw.proto, fileno=os.dup(raw.fileno()))
        tcp = listener.kind == "tcp"
        try:
            while True:
                self.slots.acquire()  # waits while --worker-connections are open
                try:
                    sock, peer = lsock.accept()
                except OSError as exc:
                    self.slots.release()
                    if exc.errno in _RESOURCE_ERRORS:
                        self.log.error("Cannot accept a connection: %s", exc.strerror)
                        eventlet.sleep(_ACCEPT_PAUSE)
                    continue
                if tcp:
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                eventlet.spawn(self._serve_client, sock, peer, listener)
        finally:
            lsock.close()

    def _serve_client(self, sock: GreenSocket, peer: Any, listener: Listener) -> None:
        me = eventlet.getcurrent()
        try:
            assert self.runner is not None
            session = Session(self.runner, self.conn_info(listener, peer), self.limits, self.log)
            self.clients[me] = (sock, session)
            serve_connection(
                sock,  # a GreenSocket has every socket method the request loop uses
                session,
                keepalive=self.keepalive,
                timeout=self.timeout,
                alive=self._is_alive,
                on_request=self.count_request,
            )
        except Exception:
            self.log.exception("Error serving a connection from %s", peer)
        finally:
            sock.close()
            self.clients.pop(me, None)
            self.slots.release()

    # ------------------------------------------------------------- stopping

    def _finish_in_flight(self, grace: float) -> None:
        deadline = time.monotonic() + grace
        # Idle keep-alive connections go now: a shut-down socket wakes its green thread's
        # recv() with end-of-file, and the request loop closes it.
        for sock, session in list(self.clients.values()):
            if session.idle:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        while self.clients and time.monotonic() < deadline:
            self.notify()
            eventlet.sleep(_DRAIN_POLL)
        if self.clients:
            self.log.warning(
                "Closing %d connection(s) still busy after --graceful-timeout", len(self.clients)
            )

    # -------------------------------------------------------------- signals

    def handle_quit(self, signum: int, frame: FrameType | None) -> None:
        self.alive = False
        self.cfg.worker_int(self)
        self._exit(0)

    def handle_abort(self, signum: int, frame: FrameType | None) -> None:
        self.alive = False
        self.cfg.worker_abort(self)
        self._exit(1)

    def _exit(self, code: int) -> NoReturn:
        """Leave through the main greenlet, whichever greenlet the signal interrupted."""
        if greenlet.getcurrent() is self._main:
            sys.exit(code)
        self._main.throw(SystemExit(code))
        raise AssertionError("unreachable: the main greenlet exits")  # pragma: no cover
