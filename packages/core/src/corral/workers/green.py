"""The shared body of green-thread workers (the gevent and eventlet plug-ins).

Theory of operation. The HTTP work (parsing, keep-alive, pipelining, 100-continue, error
responses, deadlines) is all in :func:`corral.blocking.serve_connection`, which drives a
streaming :class:`corral.session.Session` over a socket whose blocking calls suspend only
the calling green thread. :class:`GreenWorker` adds what every green worker does the same
way, and leaves the library's primitives to a small subclass (the ``green_*`` methods):

* accepting: one green thread per listening socket takes a free slot out of
  ``--worker-connections``, then accepts; while every slot is taken, new connections wait
  in the kernel's backlog, where another worker may take them;
* liveness: the main green thread is the heartbeat. It wakes a few times a second (at once
  on a signal), so a request that keeps the hub busy with CPU work stops the heartbeat and
  the master kills the worker after ``--timeout``; a request that waits cooperatively does
  not;
* deadlines: on each wake the main green thread also sweeps the connections' watches
  (:class:`corral.deadlines.Watch`) and shuts down every socket whose wait has passed its
  deadline (``--keep-alive``, ``--header-timeout``, ``--body-timeout``,
  ``--send-timeout``, as in the event-loop workers): no timer per request;
* retiring (max-requests, TTOU, TERM): it stops accepting and serves what it holds by the
  rule of :meth:`corral.session.Session.retire`, for up to ``--graceful-timeout`` seconds,
  then kills the rest; when the whole server stops it first takes the connections waiting
  in the backlog and closes idle keep-alive connections at once. INT, QUIT and ABRT leave
  through the main green thread, whichever one the signal hit.

This module imports no green library; the plug-in packages do.
"""

from __future__ import annotations

import _socket
import errno
import os
import socket
import sys
import time
from types import FrameType
from typing import Any, NoReturn

from ..blocking import serve_connection
from ..deadlines import Deadlines, Watch
from ..session import Session
from ..sockets import Listener
from ..tls import TlsSession, TlsStream
from .base import BaseWorker

_ACCEPT_PAUSE = 0.5  # seconds to wait when accept() fails for lack of descriptors
_DRAIN_POLL = 0.05  # seconds between checks while requests in flight finish
_KILL_WAIT = 1.0  # seconds given to killed connections to run their cleanup
_RESOURCE_ERRORS = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)


class GreenWorker(BaseWorker):
    """One green thread per connection. Subclasses supply the ``green_*`` primitives."""

    # ----------------------------------------------- the library's primitives

    def green_prepare(self) -> None:
        """In the forked child, before the application is imported: a fresh hub, patching."""
        raise NotImplementedError

    def green_spawn(self, func: Any, *args: Any) -> Any:
        raise NotImplementedError

    def green_current(self) -> Any:
        raise NotImplementedError

    def green_throw(self, thread: Any, exc: BaseException) -> None:
        """Raise ``exc`` inside ``thread`` (used to leave through the main green thread)."""
        raise NotImplementedError

    def green_killall(self, threads: list[Any], timeout: float) -> None:
        raise NotImplementedError

    def green_sleep(self, seconds: float) -> None:
        raise NotImplementedError

    def green_wait_readable(self, fd: int, timeout: float) -> bool:
        """Wait cooperatively until ``fd`` is readable; False when ``timeout`` passed."""
        raise NotImplementedError

    def green_wait_writable(self, fd: int) -> None:
        """Wait cooperatively until ``fd`` is writable (or shut down)."""
        raise NotImplementedError

    def green_socket(self, raw: socket.socket) -> socket.socket:
        """A cooperative socket on a duplicate of ``raw``'s descriptor."""
        raise NotImplementedError

    def green_semaphore(self, value: int) -> Any:
        raise NotImplementedError

    def in_background(self, func: Any) -> None:
        self.green_spawn(func)

    def wait_readable(self, fd: int, timeout: float) -> bool:
        return self.green_wait_readable(fd, timeout)

    def sleep(self, seconds: float) -> None:
        self.green_sleep(seconds)

    def green_client(self, sock: socket.socket) -> Any:
        """What the request loop reads and writes (``recv``, ``send``, ``shutdown``,
        ``close``): the accepted cooperative socket unless the library has faster."""
        return sock

    # -------------------------------------------------------------- life cycle

    def run(self) -> None:
        self.green_prepare()  # before BaseWorker.run() imports the application
        self._main = self.green_current()
        super().run()

    def serve(self) -> None:
        self.deadlines = Deadlines.from_cfg(self.cfg)
        # The heartbeat must beat well within --timeout; deadlines are swept at each beat.
        timeout = float(self.cfg.timeout) or 30.0
        self.tick = min(timeout / 4, self.deadlines.sweep_interval())
        self.slots = self.green_semaphore(max(1, int(self.cfg.worker_connections)))
        self.clients: dict[Any, tuple[socket.socket, int, Session, Watch]] = {}
        self.stopping = False  # the whole server stops (not this worker retiring alone)
        acceptors = [self.green_spawn(self._accept, listener) for listener in self.sockets]
        self._beat_until_stopped()
        # Retiring (Session.retire has the rule): no new connection, and each one held
        # is served to the end of its current request, which is answered with close.
        self.stopping = self.server_stopping
        self.retire_sessions()
        self.green_killall(acceptors, _KILL_WAIT)
        if self.stopping or self.drains_backlog:
            self._drain_backlog()
        for listener in self.sockets:
            listener.sock.close()  # this process's copy: the others' still serve
        self._finish_in_flight(float(self.cfg.graceful_timeout))
        # What is left is killed: its request loop closes the socket and the response.
        self.green_killall(list(self.clients), _KILL_WAIT)

    def sessions(self) -> list[tuple[int, Session]]:
        clients = getattr(self, "clients", {})  # (none before serve())
        return [(fd, session) for _sock, fd, session, _watch in clients.values()]

    # ---------------------------------------------------------------- liveness

    def _beat_until_stopped(self) -> None:
        while self.alive:
            self.notify()
            if self.green_wait_readable(self.wakeup_r, self.tick):
                self.drain_wakeup()
            self._sweep()

    def _sweep(self) -> None:
        """Cut every connection whose current wait has passed its deadline."""
        now = time.monotonic()
        for sock, fd, _session, watch in list(self.clients.values()):
            if watch.expired(now):
                self.log.debug("Closing a connection at its deadline (fd %d)", fd)
                _cut(sock)

    # --------------------------------------------------------------- accepting

    def _accept(self, listener: Listener) -> None:
        lsock = self.green_socket(listener.sock)
        try:
            while True:
                self.slots.acquire()  # waits while --worker-connections are open
                try:
                    sock, peer = lsock.accept()
                except OSError as exc:
                    self.slots.release()
                    if exc.errno in _RESOURCE_ERRORS:
                        self.log.error("Cannot accept a connection: %s", exc.strerror)
                        self.green_sleep(_ACCEPT_PAUSE)
                    continue
                self._start_client(sock, peer, listener)
        finally:
            lsock.close()

    def _start_client(self, sock: socket.socket, peer: Any, listener: Listener) -> None:
        """An accepted cooperative socket (it holds a slot): serve it in its own thread."""
        # No socket timeout (an application's socket.setdefaulttimeout() would give it
        # one): the deadlines are the watches', and cost no timer.
        sock.settimeout(None)
        if listener.kind == "tcp":
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        fd = sock.fileno()
        assert self.runner is not None
        session = Session(self.runner, self.conn_info(listener, peer), self.limits, self.log)
        if not self.alive:
            session.retire()
        client = self.green_client(sock)
        if self.tls is not None:
            client = TlsStream(client, fd, TlsSession(self.tls))
        # Counted from now, not from when its thread first runs: a retiring worker waits
        # for every connection it has accepted.
        entry = (client, fd, session, Watch())
        thread = self.green_spawn(self._serve_client, entry, peer)
        self.clients[thread] = entry

    def _drain_backlog(self) -> None:
        """The server stops: take the connections waiting in the listening sockets'
        backlog, whose clients have connected and may have sent a request already."""
        for listener in self.sockets:
            # A non-blocking accept that no green library patches, on a copy of the fd.
            raw = _socket.socket(fileno=os.dup(listener.sock.fileno()))
            try:
                raw.setblocking(False)
                while self.slots.acquire(blocking=False):
                    try:
                        fd, peer = raw._accept()  # type: ignore[attr-defined]
                    except OSError:  # nothing more waiting (or a resource error)
                        self.slots.release()
                        break
                    plain = socket.socket(raw.family, raw.type, raw.proto, fileno=fd)
                    sock = self.green_socket(plain)
                    plain.close()
                    self._start_client(sock, peer, listener)
            finally:
                raw.close()

    def _serve_client(self, entry: tuple[socket.socket, int, Session, Watch], peer: Any) -> None:
        sock, fd, session, watch = entry
        try:
            serve_connection(
                sock,
                session,
                watch,
                self.deadlines,
                closing=lambda: self.stopping and session.closable_on_stop(fd),
                on_request=self.count_request,
                # file_wrapper responses (with sendfile on) by sendfile(2), but over TLS
                sendfile_fd=fd if self.tls is None else None,
                wait_writable=self.green_wait_writable,
            )
        except Exception:
            self.log.exception("Error serving a connection from %s", peer)
        finally:
            sock.close()
            self.clients.pop(self.green_current(), None)
            self.slots.release()

    # ---------------------------------------------------------------- stopping

    def _finish_in_flight(self, grace: float) -> None:
        deadline = time.monotonic() + grace
        if self.stopping:
            # Idle keep-alive connections go now: a shut-down socket wakes its green
            # thread's recv() with end-of-file, and the request loop closes it.
            for sock, fd, session, _watch in list(self.clients.values()):
                if session.closable_on_stop(fd):
                    _cut(sock)
        while self.clients and time.monotonic() < deadline:
            self.notify()
            self.green_sleep(_DRAIN_POLL)
            self._sweep()
        if self.clients:
            self.log.warning(
                "Closing %d connection(s) still busy after --graceful-timeout", len(self.clients)
            )

    # ----------------------------------------------------------------- signals

    def handle_quit(self, signum: int, frame: FrameType | None) -> None:
        self.alive = False
        self.cfg.worker_int(self)
        self._exit(0)

    def handle_abort(self, signum: int, frame: FrameType | None) -> None:
        self.alive = False
        self.answer_aborted_requests()
        self.cfg.worker_abort(self)
        self._exit(1)

    def _exit(self, code: int) -> NoReturn:
        """Leave through the main green thread, whichever one the signal interrupted."""
        if self.green_current() is self._main:
            sys.exit(code)
        self.green_throw(self._main, SystemExit(code))
        raise AssertionError("unreachable: the main green thread exits")  # pragma: no cover


def _cut(sock: socket.socket) -> None:
    """Shut ``sock`` down: its green thread's pending recv() or send() returns at once."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def dup_socket(raw: socket.socket, factory: Any) -> socket.socket:
    """``factory(family, type, proto, fileno=dup(raw))``: a library's socket on a copy."""
    sock: socket.socket = factory(raw.family, raw.type, raw.proto, fileno=os.dup(raw.fileno()))
    return sock
