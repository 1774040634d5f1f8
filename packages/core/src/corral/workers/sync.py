"""The sync worker: one selector loop, all socket I/O non-blocking, one app call at a time.

Reading and writing never block the loop. A request reaches the application only once its
head and body are complete (``Session`` buffers the body), so a slow client cannot hold an
application call. A response whose client reads slowly is parked: its iterator is resumed
when the socket is writable again, and other connections are served meanwhile.

Deadlines (checked once a second): a connection waiting for a new request is closed after
``--keep-alive`` seconds; a request head must arrive within ``--timeout`` seconds of its
first byte; a body or a parked response that makes no progress for ``--timeout`` seconds
is closed.
"""

from __future__ import annotations

import errno
import os
import select
import selectors
import socket
import time
from collections.abc import Iterator

from ..session import Session, Step
from ..sockets import Listener
from ..wsgi import AbortConnection, FileSegment
from .base import BaseWorker

_READ = selectors.EVENT_READ
_WRITE = selectors.EVENT_WRITE
_RECV = 65536
_HIGH_WATER = 256 * 1024  # pending output above which a response is parked
_ACCEPT_BATCH = 16


class _Client:
    """Driver state of one connection."""

    __slots__ = (
        "closing",
        "deadline",
        "fd",
        "file",
        "head_started",
        "job",
        "mask",
        "out",
        "session",
        "sock",
    )

    def __init__(self, sock: socket.socket, session: Session) -> None:
        self.sock = sock
        self.fd = sock.fileno()
        self.session = session
        self.out: list[memoryview] = []
        self.file: FileSegment | None = None
        self.job: Iterator[bytes | FileSegment] | None = None
        self.closing = False
        self.mask = 0
        self.deadline = 0.0
        self.head_started = 0.0


class SyncWorker(BaseWorker):
    """Serves with one non-blocking selector loop; the app runs in the loop's thread."""

    def serve(self) -> None:
        self.selector = selectors.DefaultSelector()
        self.clients: dict[int, _Client] = {}
        self.accepting = False
        self.keepalive = float(self.cfg.keepalive)
        self.timeout = float(self.cfg.timeout) or 30.0
        self.max_clients = max(1, int(self.cfg.worker_connections))
        for listener in self.sockets:
            listener.sock.setblocking(False)
        self._start_accepting()
        self.selector.register(self.wakeup_r, _READ, None)
        try:
            self._loop()
        finally:
            for client in list(self.clients.values()):
                self._close(client)
            self.selector.close()

    # ------------------------------------------------------------------ loop

    def _loop(self) -> None:
        select_ = self.selector.select
        next_sweep = time.monotonic() + 1.0
        graceful_until = 0.0
        while True:
            if not self.alive:
                if not graceful_until:
                    graceful_until = time.monotonic() + float(self.cfg.graceful_timeout)
                    self._stop_accepting()
                self._close_idle()
                if not self.clients or time.monotonic() >= graceful_until:
                    return
            for key, mask in select_(1.0):
                data = key.data
                if data is None:
                    self.drain_wakeup()
                elif isinstance(data, Listener):
                    self._accept(data)
                elif mask & _WRITE:
                    self._on_writable(data)
                else:
                    self._on_readable(data)
            now = time.monotonic()
            if now >= next_sweep:
                next_sweep = now + 1.0
                self.notify()
                self._sweep(now)

    # ------------------------------------------------------------- accepting

    def _start_accepting(self) -> None:
        if not self.accepting and self.alive:
            for listener in self.sockets:
                self.selector.register(listener.sock, _READ, listener)
            self.accepting = True

    def _stop_accepting(self) -> None:
        if self.accepting:
            for listener in self.sockets:
                self.selector.unregister(listener.sock)
            self.accepting = False

    def _accept(self, listener: Listener) -> None:
        for _ in range(_ACCEPT_BATCH):
            try:
                sock, peer = listener.sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    self.log.error("Cannot accept a connection: %s", exc.strerror)
                    self._stop_accepting()  # resumes when a connection closes
                return
            sock.setblocking(False)
            if listener.kind == "tcp":
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            assert self.runner is not None
            session = Session(self.runner, self.conn_info(listener, peer), self.limits, self.log)
            client = _Client(sock, session)
            session.send_now = lambda data, c=client: self._send_blocking(c, data)
            self.clients[client.fd] = client
            client.deadline = time.monotonic() + self.keepalive
            self._set_mask(client, _READ)
            if len(self.clients) >= self.max_clients:
                self._stop_accepting()
                return

    # ------------------------------------------------------------ connection

    def _on_readable(self, client: _Client) -> None:
        try:
            data = client.sock.recv(_RECV)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._close(client)
            return
        now = time.monotonic()
        session = client.session
        was_idle = session.idle
        step = session.receive(data)
        if data and was_idle:
            client.head_started = now
        self._handle(client, step, now)

    def _handle(self, client: _Client, step: Step, now: float) -> None:
        while True:
            if step.send:
                client.out.append(memoryview(step.send))
            if step.job is not None:
                self.count_request()
                client.job = step.job
                if not self._pump(client):
                    return  # parked (waiting for writable) or closed
                step = client.session.finish()
                if step.job is None and not step.close and not step.send and not self.alive:
                    step = Step(close=True)  # shutting down: no new request on this one
                continue
            if step.close or client.closing:
                client.closing = True
                if self._flush(client):
                    self._close(client)
                else:
                    client.deadline = now + self.timeout
                    self._set_mask(client, _WRITE)
                return
            # Waiting for more of the request, or for a new one.
            if not self._flush(client):
                client.deadline = now + self.timeout
                self._set_mask(client, _WRITE)
                return
            session = client.session
            if session.idle:
                if self.keepalive <= 0:
                    self._close(client)
                    return
                client.deadline = now + self.keepalive
            elif session.conn.in_head:
                client.deadline = client.head_started + self.timeout
            else:
                client.deadline = now + self.timeout
            self._set_mask(client, _READ)
            return

    def _on_writable(self, client: _Client) -> None:
        now = time.monotonic()
        client.deadline = now + self.timeout
        if client.job is not None:
            if not self._pump(client):
                return
            self._handle(client, client.session.finish(), now)
        elif self._flush(client):
            if client.closing:
                self._close(client)
            else:
                self._handle(client, Step(), now)

    def _pump(self, client: _Client) -> bool:
        """Run the response job; True when it is done, False when parked or closed."""
        job = client.job
        assert job is not None
        try:
            while True:
                if not self._flush(client) and self._pending(client) > _HIGH_WATER:
                    client.deadline = time.monotonic() + self.timeout
                    self._set_mask(client, _WRITE)
                    return False
                try:
                    item = next(job)
                except StopIteration:
                    break
                if type(item) is bytes:
                    if item:
                        client.out.append(memoryview(item))
                else:
                    assert isinstance(item, FileSegment)
                    if item.prefix:
                        client.out.append(memoryview(item.prefix))
                    client.file = item
        except AbortConnection:
            client.job = None
            self._close(client)
            return False
        client.job = None
        if not self._flush(client):
            # Fully produced but not yet written: an exhausted job stays parked until the
            # last bytes are out, so the next request waits for this response.
            client.job = iter(())
            client.deadline = time.monotonic() + self.timeout
            self._set_mask(client, _WRITE)
            return False
        return True

    def _pending(self, client: _Client) -> int:
        pending = sum(len(m) for m in client.out)
        if client.file is not None:
            pending += client.file.count
        return pending

    def _flush(self, client: _Client) -> bool:
        """Write what is pending without blocking; True when everything is written."""
        out = client.out
        sock = client.sock
        try:
            while out:
                view = out[0]
                sent = sock.send(view)
                if sent < len(view):
                    out[0] = view[sent:]
                    return False
                out.pop(0)
            if client.file is not None and not self._sendfile(client):
                return False
        except (BlockingIOError, InterruptedError):
            return False
        except OSError:
            # The peer went away; nothing more can be written.
            out.clear()
            client.file = None
            client.closing = True
            client.job = None
        return True

    def _sendfile(self, client: _Client) -> bool:
        seg = client.file
        assert seg is not None
        while seg.count > 0:
            sent = os.sendfile(client.fd, seg.fileno, seg.offset, seg.count)
            if sent == 0:  # the file shrank under us: the response cannot be completed
                client.file = None
                client.out.clear()
                client.closing = True
                return True
            seg.offset += sent
            seg.count -= sent
        client.file = None
        if seg.suffix:
            client.out.append(memoryview(seg.suffix))
        return True

    def _send_blocking(self, client: _Client, data: bytes) -> None:
        """PEP 3333 ``write()``: send now, waiting for the socket (heartbeat kept)."""
        if data:
            client.out.append(memoryview(data))
        poller = select.poll()
        poller.register(client.fd, select.POLLOUT)
        waited = 0.0
        while not self._flush(client):
            if not poller.poll(1000):
                waited += 1.0
                self.notify()
                if waited >= self.timeout:
                    raise AbortConnection("client did not read for --timeout seconds")
        if client.closing:
            raise AbortConnection("client went away")

    def _set_mask(self, client: _Client, mask: int) -> None:
        if client.mask == mask:
            return
        if client.mask:
            self.selector.modify(client.sock, mask, client)
        else:
            self.selector.register(client.sock, mask, client)
        client.mask = mask

    def _close(self, client: _Client) -> None:
        if self.clients.pop(client.fd, None) is None:
            return
        if client.mask:
            try:
                self.selector.unregister(client.sock)
            except (KeyError, ValueError):
                pass
        job = client.job
        client.job = None
        if job is not None and hasattr(job, "close"):
            job.close()  # runs the application's close() via the generator's finally
        client.session.abandon()
        try:
            client.sock.close()
        except OSError:
            pass
        if not self.accepting and self.alive and len(self.clients) < self.max_clients:
            self._start_accepting()

    def _close_idle(self) -> None:
        for client in list(self.clients.values()):
            if client.job is None and not client.out and client.session.idle:
                self._close(client)

    def _sweep(self, now: float) -> None:
        for client in list(self.clients.values()):
            if now >= client.deadline:
                self._close(client)
