"""Drive a :class:`~corral.session.Session` over a blocking-style socket.

For workers that give each connection its own flow of control, where a blocking call
only suspends that connection: gevent and eventlet greenlets (their sockets are
cooperative), or threads. The loop is the driver contract of ``session.py`` written
with ``recv`` / ``sendall``; the HTTP logic is all in the session.

Deadlines: an idle keep-alive connection is closed after ``keepalive`` seconds; a request
head must be complete within ``timeout`` seconds of its first byte; a body read or a write
that makes no progress for ``timeout`` seconds ends the connection.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable

from .session import Session, Step
from .wsgi import AbortConnection, FileSegment

_RECV = 65536
_FILE_BLOCK = 65536


def _send_file(sock: socket.socket, seg: FileSegment) -> None:
    if seg.prefix:
        sock.sendall(seg.prefix)
    offset, left = seg.offset, seg.count
    while left > 0:
        block = os.pread(seg.fileno, min(_FILE_BLOCK, left), offset)
        if not block:  # the file shrank under us: the response cannot be completed
            raise AbortConnection("file truncated while sending")
        sock.sendall(block)
        offset += len(block)
        left -= len(block)
    if seg.suffix:
        sock.sendall(seg.suffix)


def serve_connection(
    sock: socket.socket,
    session: Session,
    *,
    keepalive: float,
    timeout: float,
    alive: Callable[[], bool],
    on_request: Callable[[], None] | None = None,
) -> None:
    """Serve one connection until it closes; always closes ``sock``."""
    session.send_now = sock.sendall
    session.recv = lambda: sock.recv(_RECV)
    head_started = 0.0
    job = None
    try:
        while True:
            # Read: how long we wait depends on where the connection is.
            if session.idle:
                if not alive() or (keepalive <= 0 and session.requests):
                    return
                sock.settimeout(keepalive if session.requests else timeout)
            elif session.conn.in_head:
                sock.settimeout(max(0.001, head_started + timeout - time.monotonic()))
            else:
                sock.settimeout(timeout)
            was_idle = session.idle
            try:
                data = sock.recv(_RECV)
            except (TimeoutError, OSError):
                return
            if data and was_idle:
                head_started = time.monotonic()
            step: Step = session.receive(data)
            sock.settimeout(timeout)
            while True:
                if step.send:
                    sock.sendall(step.send)
                if step.job is not None:
                    if on_request is not None:
                        on_request()
                    job = step.job
                    for item in job:
                        if type(item) is bytes:
                            if item:
                                sock.sendall(item)
                        else:
                            assert isinstance(item, FileSegment)
                            _send_file(sock, item)
                    job = None
                    step = session.finish()
                    continue
                if step.close:
                    return
                break
    except AbortConnection:
        refusal = session.refusal()  # a malformed body before any response: say so
        if refusal:
            try:
                sock.sendall(refusal)
            except OSError:
                pass
        return
    except OSError:
        return  # the peer went away or stopped reading: nothing more to do
    finally:
        if job is not None:
            job.close()  # type: ignore[attr-defined]  # runs the app iterable's close()
        session.abandon()
        try:
            sock.close()
        except OSError:
            pass
