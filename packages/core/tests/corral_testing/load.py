"""Many connections from one test process: one selector, no threads (gevent/eventlet tests).

:func:`many_requests` opens every connection at once, sends one request on each and reads
each response to the end (the requests say ``Connection: close``), so a server that cannot
hold them all concurrently shows it in the elapsed time. :func:`raise_fd_limit` lifts the
soft descriptor limit of this process; servers started afterwards inherit it.
"""

from __future__ import annotations

import errno
import resource
import selectors
import socket
import time
from dataclasses import dataclass


def raise_fd_limit(wanted: int) -> int:
    """Raise the soft RLIMIT_NOFILE towards ``wanted`` (at most the hard limit); the new soft
    limit. Child processes started afterwards inherit it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft


@dataclass
class Result:
    status: int  # 0: no complete status line arrived
    body: bytes
    elapsed: float  # seconds from the start of the run to the end of this response
    error: str = ""


def _parse(raw: bytes) -> tuple[int, bytes]:
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        return 0, b""
    try:
        return int(head.split(b" ", 2)[1]), body
    except (IndexError, ValueError):
        return 0, b""


def many_requests(host: str, port: int, raws: list[bytes], timeout: float = 60.0) -> list[Result]:
    """Send ``raws[i]`` on connection ``i``, all at once; read each until the server closes."""
    sel = selectors.DefaultSelector()
    started = time.monotonic()
    results: list[Result | None] = [None] * len(raws)
    buffers = [bytearray() for _ in raws]
    pending_out = list(raws)
    socks: list[socket.socket] = []
    try:
        for i in range(len(raws)):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setblocking(False)
            err = sock.connect_ex((host, port))
            if err not in (0, errno.EINPROGRESS):
                raise OSError(err, f"connect #{i}: {errno.errorcode.get(err, err)}")
            socks.append(sock)
            sel.register(sock, selectors.EVENT_WRITE, i)
        left = len(raws)
        while left:
            remaining = started + timeout - time.monotonic()
            if remaining <= 0:
                break
            for key, _ in sel.select(min(remaining, 1.0)):
                i = key.data
                sock = socks[i]
                if pending_out[i]:
                    try:
                        sent = sock.send(pending_out[i])
                    except BlockingIOError:
                        continue
                    except OSError as exc:
                        results[i] = Result(0, b"", time.monotonic() - started, str(exc))
                        sel.unregister(sock)
                        left -= 1
                        continue
                    pending_out[i] = pending_out[i][sent:]
                    if not pending_out[i]:
                        sel.modify(sock, selectors.EVENT_READ, i)
                    continue
                try:
                    data = sock.recv(65536)
                except BlockingIOError:
                    continue
                except OSError as exc:
                    data, error = b"", str(exc)
                else:
                    error = ""
                if data:
                    buffers[i] += data
                    continue
                status, body = _parse(bytes(buffers[i]))
                results[i] = Result(status, body, time.monotonic() - started, error)
                sel.unregister(sock)
                left -= 1
    finally:
        for sock in socks:
            sock.close()
        sel.close()
    now = time.monotonic() - started
    return [r if r is not None else Result(0, b"", now, "timed out") for r in results]
