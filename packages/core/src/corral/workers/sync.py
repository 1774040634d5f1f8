"""The sync worker: one epoll loop does all socket I/O, non-blocking; the app runs in it.

Theory of operation
-------------------
Every socket (listeners, clients, the signal wake-up pipe) is registered in one
level-triggered ``epoll``. The loop reads what a readable client sent and feeds it to the
client's :class:`~corral.session.Session`; the application is called only when the session
hands back a response job, that is when a request head is complete and its body is
buffered (in memory, then in a temporary file past the spool threshold). A client that
sends slowly therefore costs a buffer and a file descriptor, never an application call.

A response job is a generator (:meth:`corral.wsgi.WSGIRunner.run`). It is *produced* in
batches: items are collected until they reach :data:`HIGH_WATER` bytes or the job ends,
then *written* without blocking. If the client does not take everything, the connection is
parked (registered for ``EPOLLOUT``) and the job is resumed only once the batch is out, so
a slow reader holds at most one batch of output and never the loop.

:class:`SyncWorker` produces batches inline. :class:`~corral.workers.gthread.GthreadWorker`
is this same loop with one method replaced: it hands batches to a thread pool, and the
pool hands them back through an eventfd. While a batch is being produced by a thread, the
loop does not touch that connection.

Deadlines (swept once a second, from the loop's clock):

* ``--header-timeout``: a request head must be complete this long after its first byte
  (for a new connection, after it was accepted); more bytes do not move the deadline;
* ``--body-timeout``: a request body may go this long without a byte arriving;
* ``--send-timeout``: a parked response may go this long without the client taking a byte;
* ``--keep-alive``: an idle connection waits this long for its next request (``0``: close
  after each response).

The one place where the loop can block is PEP 3333's legacy ``write()`` callable: past
:data:`HIGH_WATER` buffered bytes it waits (up to ``--send-timeout`` without progress) for
the client, because ``write()`` must not return before its data is on its way.
"""

from __future__ import annotations

import errno
import os
import select
import socket
import time
from collections.abc import Iterator

from ..deadlines import Deadlines
from ..session import Session, Step
from ..sockets import Listener
from ..tls import SLICE, TlsError, TlsSession, send_nowait
from ..wsgi import AbortConnection, FileSegment
from .base import BaseWorker

_IN = select.EPOLLIN
_OUT = select.EPOLLOUT
_EXCLUSIVE = getattr(select, "EPOLLEXCLUSIVE", 0)  # Linux >= 4.5: wake one worker per accept
_RECV = 65536
_ACCEPT_BATCH = 64
_IOV_MAX = 64  # buffers handed to one sendmsg()

HIGH_WATER = 256 * 1024
"""Output bytes produced per batch before the job waits for the client to take them."""

# How a produced batch ended.
_DONE = 0  # the job is exhausted
_MORE = 1  # the batch is full (or holds a file to send); the job has more
_ABORT = 2  # the response cannot be completed: close the connection


class _Client:
    """Driver state of one connection."""

    __slots__ = (
        "busy",
        "closing",
        "deadline",
        "doomed",
        "fd",
        "file",
        "fresh",
        "job",
        "mask",
        "out",
        "outlen",
        "responding",
        "session",
        "sock",
        "tls",
        "wire",
    )

    def __init__(
        self,
        sock: socket.socket,
        fd: int,
        session: Session,
        deadline: float,
        tls: TlsSession | None,
    ) -> None:
        self.sock = sock
        self.fd = fd
        self.session = session
        self.out: list[bytes | memoryview] = []  # bytes to write, in order
        self.outlen = 0
        self.file: FileSegment | None = None  # sent after ``out`` is empty
        self.job: Iterator[bytes | FileSegment] | None = None  # None once exhausted
        self.responding = False  # a response job started and finish() is still due
        self.closing = False  # close once ``out`` is written
        self.busy = False  # a pool thread is producing (gthread): the loop keeps off
        self.doomed = False  # close as soon as the thread gives it back
        self.mask = 0  # events registered in epoll (0: not registered)
        self.fresh = True  # waiting for a request of which no byte has arrived
        self.deadline = deadline
        self.tls = tls  # --certfile: ``out`` is plaintext, encrypted as it is written
        self.wire: bytes | memoryview = b""  # encrypted bytes the socket has not taken yet


class SyncWorker(BaseWorker):
    """Serves with one non-blocking epoll loop; the application runs in the loop's thread."""

    def serve(self) -> None:
        self.ep = select.epoll()
        self.clients: dict[int, _Client] = {}
        self.listener_fds: dict[int, Listener] = {}
        self.accepting = False
        cfg = self.cfg
        deadlines = Deadlines.from_cfg(cfg)
        self.keepalive, self.header_timeout, self.body_timeout, self.send_timeout = deadlines
        self.max_clients = max(1, int(cfg.worker_connections))
        for listener in self.sockets:
            listener.sock.setblocking(False)
            fd = listener.sock.fileno()
            self.listener_fds[fd] = listener
        self.ep.register(self.wakeup_r, _IN)
        self.setup()
        self._start_accepting()
        try:
            self._loop()
        finally:
            for client in list(self.clients.values()):
                self._close(client)
            self.teardown()
            self.ep.close()

    # ------------------------------------------------- hooks for the gthread worker

    def setup(self) -> None:
        """Called once the loop's epoll exists, before serving."""

    def teardown(self) -> None:
        """Called when the loop has ended."""

    def on_other(self, fd: int, now: float) -> None:
        """An fd registered by a subclass is ready (the base class has only the wake-up)."""
        self.drain_wakeup()

    def drive(self, client: _Client, now: float) -> bool:
        """Produce and write ``client``'s job; True when it is complete and written."""
        while True:
            status = self.produce(client)
            if status == _ABORT:
                self._close(client)
                return False
            # (TLS: what the socket has not taken yet may be encrypted already, in ``wire``)
            if (client.out or client.file is not None or client.wire) and not self._flush(client):
                self._park(client, now)  # (produce() usually wrote it all already)
                return False
            if client.closing:  # the peer went away while we wrote
                self._close(client)
                return False
            if status == _DONE:
                return True

    # ------------------------------------------------------------------ loop

    def _loop(self) -> None:
        poll = self.ep.poll
        clients = self.clients
        listener_fds = self.listener_fds
        on_readable = self._on_readable
        on_writable = self._on_writable
        monotonic = time.monotonic
        next_sweep = monotonic() + 1.0
        graceful_until = 0.0
        stopping = False
        while True:
            if not self.alive:
                if not graceful_until:
                    graceful_until = monotonic() + float(self.cfg.graceful_timeout)
                    stopping = self._begin_retiring(monotonic())
                if stopping:
                    self._close_idle()
                if not clients or monotonic() >= graceful_until:
                    if clients:
                        self.log.warning(
                            "Closing %d connection(s) still busy after --graceful-timeout",
                            len(clients),
                        )
                    return
            try:
                events = poll(1.0)
            except InterruptedError:  # pragma: no cover - PEP 475 retries; kept for safety
                continue
            now = monotonic()
            for fd, ev in events:
                client = clients.get(fd)
                if client is not None:
                    if client.busy:
                        self._set_mask(client, 0)  # the thread owns it; quiet until then
                    elif ev & _OUT and client.mask == _OUT:
                        on_writable(client, now)
                    else:
                        on_readable(client, now)
                elif fd in listener_fds:
                    self._accept(listener_fds[fd], now)
                else:
                    self.on_other(fd, now)
            if now >= next_sweep:
                next_sweep = now + 1.0
                self.notify()
                self._sweep(now)

    # ------------------------------------------------------------- accepting

    def _start_accepting(self) -> None:
        if not self.accepting and self.alive:
            for fd in self.listener_fds:
                self.ep.register(fd, _IN | _EXCLUSIVE)
            self.accepting = True

    def _stop_accepting(self) -> None:
        if self.accepting:
            for fd in self.listener_fds:
                self.ep.unregister(fd)
            self.accepting = False

    def _begin_retiring(self, now: float) -> bool:
        """The worker stops serving new connections (Session.retire has the rule); True
        when the whole server stops. Then the connections already waiting in the
        listening sockets' backlog are taken first: their clients have connected, and a
        request sent on them is owed an answer (so too when ``--reuse-port`` closes this
        worker's own socket). A worker retiring alone leaves them to the other workers."""
        stopping = self.server_stopping
        self.retire_sessions()
        if stopping or self.drains_backlog:
            for listener in self.listener_fds.values():
                while len(self.clients) < self.max_clients and self._accept(listener, now):
                    pass
        self._stop_accepting()
        for listener in self.listener_fds.values():
            listener.sock.close()  # this process's copy: the others' still serve
        self.listener_fds.clear()
        return stopping

    def _accept(self, listener: Listener, now: float) -> bool:
        """Accept a batch; True when more connections may be waiting."""
        lsock = listener.sock
        tcp = listener.kind == "tcp"
        runner = self.runner
        assert runner is not None
        clients = self.clients
        for _ in range(_ACCEPT_BATCH):
            try:
                sock, peer = lsock.accept()
            except (BlockingIOError, InterruptedError):
                return False
            except OSError as exc:
                if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    self.log.error("Cannot accept a connection: %s", exc.strerror)
                    self._stop_accepting()  # resumes when a connection closes
                return False
            sock.setblocking(False)
            if tcp:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            session = Session(runner, self.conn_info(listener, peer), self.limits, self.log)
            if not self.alive:
                session.retire()  # taken from the backlog while the server stops
            fd = sock.fileno()
            tls = TlsSession(self.tls) if self.tls is not None else None
            client = _Client(sock, fd, session, now + self.header_timeout, tls)
            session.send_now = lambda data, c=client: self._send_blocking(c, data)
            clients[fd] = client
            self.ep.register(fd, _IN)
            client.mask = _IN
            if len(clients) >= self.max_clients:
                self._stop_accepting()
                return False
        return True

    # ------------------------------------------------------------ connection

    def _on_readable(self, client: _Client, now: float) -> None:
        try:
            data = client.sock.recv(_RECV)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._close(client)
            return
        if client.tls is not None:
            self._on_tls_readable(client, data, now)
            return
        self._receive(client, data, now)

    def _receive(self, client: _Client, data: bytes, now: float) -> None:
        """Request bytes (plaintext) from ``client``: to its session."""
        if client.fresh:
            client.fresh = False
            client.deadline = now + self.header_timeout  # the head starts now
        self._advance(client, client.session.receive(data), now)

    def _on_tls_readable(self, client: _Client, data: bytes, now: float) -> None:
        """Bytes from a TLS client: the handshake's, or records to decrypt. The handshake
        runs under the deadline the connection got when it was accepted."""
        tls = client.tls
        assert tls is not None
        try:
            plain = tls.receive(data)
        except TlsError as exc:
            self.log.debug("Closing a TLS connection (fd %d): %s", client.fd, exc)
            send_nowait(client.fd, exc.reply)
            self._close(client)
            return
        if tls.has_outgoing and not self._flush(client) and not plain:
            self._park(client, now)  # the handshake's reply waits for the client to read
            return
        if plain:
            self._receive(client, plain, now)
        idle = not client.busy and not client.responding  # (else it ends after the response)
        if tls.ended and idle and self.clients.get(client.fd) is client:
            self._advance(client, client.session.receive(b""), now)

    def _advance(self, client: _Client, step: Step, now: float) -> None:
        """Do what the session asks until it needs data, a job parks, or it closes."""
        session = client.session
        while True:
            if step.send:
                client.out.append(step.send)
                client.outlen += len(step.send)
            job = step.job
            if job is not None:
                self.count_request()
                client.job = job
                client.responding = True
                if not self.drive(client, now):
                    return  # parked, handed to a thread, or closed
                client.responding = False
                client.fresh = True
                step = session.finish()
                continue
            if step.close or client.closing:
                client.closing = True
                if self._flush(client):
                    self._close(client)
                else:
                    self._park(client, now)
                return
            if (client.out or client.wire) and not self._flush(client):
                self._park(client, now)
                return
            # (had the peer gone while we wrote, the next read sees it and closes)
            # Waiting for (more of) a request.
            if session.idle:
                if session.requests and client.fresh:
                    # Between requests: wait for the next one.
                    if self.keepalive <= 0:
                        self._close(client)
                        return
                    client.deadline = now + self.keepalive
                # else: a new connection keeps its header deadline from accept()
            elif not session.conn.in_head:
                client.deadline = now + self.body_timeout  # the body: an idle deadline
            elif client.fresh:  # a pipelined head already begun
                client.fresh = False
                client.deadline = now + self.header_timeout
            # (inside a head, the deadline set at its first byte stands)
            if client.mask != _IN:
                self._set_mask(client, _IN)
            return

    def on_produced(self, client: _Client, status: int, now: float) -> None:
        """A batch produced elsewhere (a pool thread) is back: write it and go on."""
        if status == _ABORT or client.doomed:
            self._close(client)
            return
        if not self._flush(client):
            self._park(client, now)
            return
        if client.closing:
            self._close(client)
            return
        if status == _DONE or self.drive(client, now):
            self._job_complete(client, now)

    def _job_complete(self, client: _Client, now: float) -> None:
        client.responding = False
        client.fresh = True
        self._advance(client, client.session.finish(), now)

    def _on_writable(self, client: _Client, now: float) -> None:
        if not self._flush(client):
            if client.closing:
                self._close(client)
            else:
                client.deadline = now + self.send_timeout  # it took some: progress
            return
        if client.closing:
            self._close(client)
        elif client.job is not None:
            if self.drive(client, now):
                self._job_complete(client, now)
        elif client.responding:
            self._job_complete(client, now)
        else:
            self._advance(client, Step(), now)

    def _park(self, client: _Client, now: float) -> None:
        client.deadline = now + self.send_timeout
        if client.mask != _OUT:
            self._set_mask(client, _OUT)

    # ---------------------------------------------------------------- output

    def produce(self, client: _Client) -> int:
        """Run the job until it ends, its output backs up, or one batch is collected.

        Each chunk the application yields is offered to the socket at once (a send that
        never blocks): a streaming response (server-sent events, long polls) reaches the
        client chunk by chunk, as with Gunicorn, instead of waiting for the next chunk or
        the end. If the client does not take it all, the job stops here and the
        connection is parked until it does. In gthread a pool thread runs this: the loop
        keeps off a busy client's socket, so the thread may write to it.
        """
        job = client.job
        assert job is not None
        out = client.out
        try:
            for item in job:
                if type(item) is bytes:
                    if item:
                        out.append(item)
                        client.outlen += len(item)
                        if client.outlen >= HIGH_WATER or not self._flush(client):
                            return _MORE
                        if client.closing:  # the peer went away: stop producing
                            return _MORE
                else:
                    assert isinstance(item, FileSegment)
                    if item.prefix:
                        out.append(item.prefix)
                        client.outlen += len(item.prefix)
                    client.file = item  # written after ``out``; nothing may follow it yet
                    return _MORE
        except AbortConnection:
            client.job = None
            return _ABORT
        client.job = None
        return _DONE

    def _flush(self, client: _Client) -> bool:
        """Write what is pending without blocking; True when all of it is written.

        If the peer has gone, the output is dropped, ``closing`` is set and True returned.
        """
        if client.tls is not None:
            return self._flush_tls(client, client.tls)
        out = client.out
        sock = client.sock
        try:
            while True:
                while out:
                    if len(out) == 1:
                        first = out[0]
                        sent = sock.send(first)
                        if sent == len(first):
                            out.clear()
                            client.outlen = 0
                            break
                        out[0] = memoryview(first)[sent:]
                        client.outlen -= sent
                        return False
                    sent = sock.sendmsg(out[:_IOV_MAX])
                    client.outlen -= sent
                    while sent:
                        first = out[0]
                        size = len(first)
                        if sent >= size:
                            del out[0]
                            sent -= size
                        else:
                            out[0] = memoryview(first)[sent:]
                            return False
                seg = client.file
                if seg is None:
                    return True
                while seg.count > 0:
                    sent = os.sendfile(client.fd, seg.fileno, seg.offset, seg.count)
                    if sent == 0:  # the file shrank under us: the response cannot complete
                        client.file = None
                        client.closing = True
                        return True
                    seg.offset += sent
                    seg.count -= sent
                client.file = None
                if not seg.suffix:
                    return True
                out.append(seg.suffix)
                client.outlen += len(seg.suffix)
        except (BlockingIOError, InterruptedError):
            return False
        except OSError:
            # The peer went away; nothing more can be written.
            out.clear()
            client.outlen = 0
            client.file = None
            client.closing = True
            return True

    def _flush_tls(self, client: _Client, tls: TlsSession) -> bool:
        """:meth:`_flush` for a TLS client: encrypt ``out`` (then the file) a slice at a
        time, each slice once the socket has taken the previous one."""
        out = client.out
        sock = client.sock
        try:
            while True:
                wire = client.wire or tls.outgoing()
                if wire:
                    client.wire = wire  # kept until the socket takes it
                    sent = sock.send(wire)
                    if sent < len(wire):
                        client.wire = memoryview(wire)[sent:]
                        return False
                    client.wire = b""
                    continue
                if out:
                    first = out[0]
                    if len(first) > SLICE:
                        piece = first[:SLICE]
                        out[0] = memoryview(first)[SLICE:]
                    else:
                        piece = first
                        del out[0]
                    client.outlen -= len(piece)
                    tls.send(piece)
                    continue
                seg = client.file
                if seg is None:
                    return True
                if seg.count > 0:
                    block = os.pread(seg.fileno, min(SLICE, seg.count), seg.offset)
                    if not block:  # the file shrank under us: the response cannot complete
                        client.file = None
                        client.closing = True
                        return True
                    seg.offset += len(block)
                    seg.count -= len(block)
                    tls.send(block)
                    continue
                client.file = None
                if seg.suffix:
                    out.append(seg.suffix)
                    client.outlen += len(seg.suffix)
        except (BlockingIOError, InterruptedError):
            return False
        except OSError:  # the peer went away (or TLS failed): nothing more can be written
            out.clear()
            client.outlen = 0
            client.file = None
            client.wire = b""
            client.closing = True
            return True

    def _send_blocking(self, client: _Client, data: bytes) -> None:
        """PEP 3333 ``write()``: buffer, and past the high-water mark wait for the client."""
        if data:
            client.out.append(data)
            client.outlen += len(data)
        if client.outlen < HIGH_WATER and client.file is None:
            return
        poller = select.poll()
        poller.register(client.fd, select.POLLOUT)
        waited = 0.0
        while not self._flush(client):
            if poller.poll(1000):
                waited = 0.0
                continue
            waited += 1.0
            self.notify()
            if waited >= self.send_timeout:
                raise AbortConnection("client did not read for --send-timeout seconds")
        if client.closing:
            raise AbortConnection("client went away")

    # ---------------------------------------------------------- bookkeeping

    def _set_mask(self, client: _Client, mask: int) -> None:
        old = client.mask
        if old == mask:
            return
        fd = client.fd
        if not mask:
            self.ep.unregister(fd)
        elif old:
            self.ep.modify(fd, mask)
        else:
            self.ep.register(fd, mask)
        client.mask = mask

    def _close(self, client: _Client) -> None:
        if client.busy:  # a thread is producing: close when it hands the client back
            client.doomed = True
            return
        if self.clients.pop(client.fd, None) is None:
            return
        if client.mask:
            try:
                self.ep.unregister(client.fd)
            except OSError:
                pass
            client.mask = 0
        job = client.job
        client.job = None
        client.out.clear()
        client.file = None
        if job is not None and hasattr(job, "close"):
            try:
                job.close()  # runs the application's close() via the generator's finally
            except Exception:
                self.log.exception("Error closing a response")
        client.session.abandon()
        if client.tls is not None and not client.wire:
            send_nowait(client.fd, client.tls.close_notify())
        try:
            client.sock.close()
        except OSError:
            pass
        if not self.accepting and self.alive and len(self.clients) < self.max_clients:
            self._start_accepting()

    def _close_idle(self) -> None:
        """The server stops: close the idle keep-alive connections (Session.retire)."""
        for client in list(self.clients.values()):
            idle = not client.busy and not client.responding and not client.out and not client.wire
            if idle and client.session.closable_on_stop(client.fd):
                self._close(client)

    def sessions(self) -> list[tuple[int, Session]]:
        clients = getattr(self, "clients", {})  # (none before serve())
        return [(client.fd, client.session) for client in clients.values()]

    def _sweep(self, now: float) -> None:
        for client in list(self.clients.values()):
            if now >= client.deadline and not client.busy:
                self.log.debug("Closing a connection at its deadline (fd %d)", client.fd)
                self._close(client)
