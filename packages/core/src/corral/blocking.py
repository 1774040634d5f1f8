"""Drive a :class:`~corral.session.Session` over a blocking-style socket.

For workers that give each connection its own flow of control, where a blocking call
only suspends that connection: gevent and eventlet greenlets (their sockets are
cooperative), or threads; the worker must sweep the connections' watches (below), or
there are no deadlines. The loop is the driver contract of ``session.py`` written
with ``recv`` / ``send``; the HTTP logic is all in the session.

Deadlines (:class:`corral.deadlines.Deadlines`, the same as the event-loop workers'): an
idle keep-alive connection is closed after ``keepalive`` seconds; a request head must be
complete ``header`` seconds after its first byte (on a new connection, after it was
accepted); a body read that gets nothing for ``body`` seconds, or a write that makes no
progress for ``send`` seconds, ends the connection. The loop does not enforce them itself:
before each wait it writes when the wait must end into the connection's
:class:`~corral.deadlines.Watch`, and the worker that owns the connection sweeps its
watches and shuts down the socket of any that has passed, which ends the wait; the loop
then sees the watch's ``cut`` and serves nothing more, even bytes that arrived just before
the cut. A socket timeout per call would cost a timer per request in the green libraries; a
sweep a few times a second costs nothing per request.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable

from .deadlines import NEVER, Deadlines, Watch
from .session import Session, Step
from .wsgi import AbortConnection, FileSegment

_RECV = 65536
_FILE_BLOCK = 65536


def serve_connection(
    sock: socket.socket,
    session: Session,
    watch: Watch,
    deadlines: Deadlines,
    *,
    closing: Callable[[], bool],
    on_request: Callable[[], None] | None = None,
    sendfile_fd: int | None = None,
    wait_writable: Callable[[int], None] | None = None,
) -> None:
    """Serve one connection until it closes; always closes ``sock``.

    ``closing()`` is asked between requests: True closes the connection there (the
    server stops; see :meth:`Session.closable_on_stop`). A worker that retires otherwise
    calls :meth:`Session.retire`, and the loop closes after the response that says so.

    ``sendfile_fd`` (a plain connection's non-blocking descriptor) and ``wait_writable(fd)``
    (a cooperative wait until it is writable) let file segments go out with ``os.sendfile``;
    without them (TLS) the file is read with ``os.pread`` and its blocks sent.
    """
    keepalive, header_timeout, body_timeout, send_timeout = deadlines
    monotonic = time.monotonic
    sock_recv = sock.recv
    sock_send = sock.send

    def send(data: bytes | memoryview) -> None:
        # send() returns once some of it is written: the deadline is per bit of progress.
        while True:
            watch.writing = monotonic() + send_timeout
            sent = sock_send(data)
            if sent == len(data):
                break
            data = memoryview(data)[sent:]
        watch.writing = NEVER

    def recv_body() -> bytes:
        watch.reading = monotonic() + body_timeout
        try:
            data = sock_recv(_RECV)
        finally:
            watch.reading = NEVER
            if watch.cut:
                raise TimeoutError(f"no body byte for {body_timeout:g} s (--body-timeout)")
        return data

    def send_file(seg: FileSegment) -> None:
        if seg.prefix:
            send(seg.prefix)
        offset, left = seg.offset, seg.count
        while left > 0:
            if sendfile_fd is not None and wait_writable is not None:
                watch.writing = monotonic() + send_timeout
                try:
                    sent = os.sendfile(sendfile_fd, seg.fileno, offset, left)
                except BlockingIOError:
                    wait_writable(sendfile_fd)  # a cut at the deadline wakes it too
                    if watch.cut:
                        raise TimeoutError("no progress sending (--send-timeout)") from None
                    continue
            else:
                block = os.pread(seg.fileno, min(_FILE_BLOCK, left), offset)
                if block:
                    send(block)
                sent = len(block)
            if not sent:  # the file shrank under us: the response cannot be completed
                raise AbortConnection("file truncated while sending")
            offset += sent
            left -= sent
        watch.writing = NEVER
        if seg.suffix:
            send(seg.suffix)

    session.send_now = send
    session.recv = recv_body
    head_deadline = monotonic() + header_timeout  # a new connection's: from the accept
    idle_deadline = head_deadline  # until the next head begins; blank lines do not move it
    job = None
    try:
        while True:
            # Read: how long we may wait depends on where the connection is.
            if session.idle:
                if (keepalive <= 0 and session.requests) or closing():
                    return
                watch.reading = idle_deadline
                data = sock_recv(_RECV)
                if session.requests:
                    head_deadline = monotonic() + header_timeout
            elif session.conn.in_head:
                watch.reading = head_deadline
                data = sock_recv(_RECV)
            else:
                watch.reading = monotonic() + body_timeout
                data = sock_recv(_RECV)
            watch.reading = NEVER
            if watch.cut:
                return  # cut at its deadline: what was buffered before the cut is not served
            step: Step = session.receive(data)
            while True:
                if step.send:
                    send(step.send)
                if step.job is not None:
                    if on_request is not None:
                        on_request()
                    job = step.job
                    for item in job:
                        if type(item) is bytes:
                            if item:
                                send(item)
                        else:
                            assert isinstance(item, FileSegment)
                            send_file(item)
                    job = None
                    step = session.finish()
                    now = monotonic()
                    head_deadline = now + header_timeout  # for a pipelined head
                    idle_deadline = now + keepalive
                    continue
                if step.close:
                    return
                break
    except AbortConnection:
        refusal = session.refusal()  # a malformed body before any response: say so
        if refusal:
            try:
                send(refusal)
            except OSError:
                pass
        return
    except OSError:
        return  # the peer went away, stopped reading or was cut at a deadline
    finally:
        watch.reading = watch.writing = NEVER
        if job is not None:
            job.close()  # type: ignore[attr-defined]  # runs the app iterable's close()
        session.abandon()
        try:
            sock.close()
        except OSError:
            pass
