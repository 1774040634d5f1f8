"""The ``--metrics-bind`` endpoint: a small process of the master's that answers scrapes.

Why a process, not a thread of the master nor a socket in its loop (docs/DESIGN.md,
"Metrics"): the master forks workers, and a thread it ran (prometheus-client's
``start_http_server``) could hold a lock at the moment of a fork, which the child would then
find held forever; and a scrape reads every process's metric files, which takes time that
the master's loop owes to signals and heartbeats. So the master binds the address at start
(a port in use is a start-up error), forks this process once its signals are set up, and
forks it again if it dies (at most once a second). The process serves one connection at a
time, each bounded (a request head of at most 64 KiB, read within 5 seconds), answers
``GET /metrics`` (and ``/``) with the sum of every process's files, and exits when the
master is gone.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import time
from typing import Any

from ..http import NEED_DATA, Connection, Limits, ProtocolError, Request, error_response

_HEAD_TIME = 5.0  # seconds a scraper has to send its request head
_LIMITS = Limits(max_head_bytes=65536)
_PATHS = (b"/metrics", b"/")
_RENDER_TRIES = 5  # a file a new process is creating reads as empty for a moment


def run(sock: socket.socket, path: str, ppid: int) -> None:
    """In the forked child: serve scrapes of ``path``'s files until the master ``ppid`` goes."""
    from prometheus_client import CollectorRegistry, generate_latest, multiprocess

    # TERM (from the master's close()) ends it; the signals an operator sends the master
    # (HUP, INT from a terminal's Ctrl-C to the whole group...) are not for it: it goes when
    # the master goes.
    for sig in (signal.SIGTERM, signal.SIGCHLD):
        signal.signal(sig, signal.SIG_DFL)
    for sig in (
        *(signal.SIGINT, signal.SIGQUIT, signal.SIGHUP, signal.SIGTTIN, signal.SIGTTOU),
        *(signal.SIGUSR1, signal.SIGUSR2, signal.SIGWINCH),
    ):
        signal.signal(sig, signal.SIG_IGN)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=path)  # type: ignore[no-untyped-call]
    sock.settimeout(1.0)  # wake once a second to see whether the master is still there
    while os.getppid() == ppid:
        try:
            client, _ = sock.accept()
        except TimeoutError:
            continue
        except OSError:  # out of descriptors...: try again in a moment
            time.sleep(0.1)
            continue
        try:
            answer(client, lambda: _render(generate_latest, registry))
        except OSError:
            pass  # the scraper went away
        finally:
            client.close()


def _render(generate: Any, registry: Any) -> bytes | None:
    """The metrics text, or None if the files cannot be read. A process that has just
    been forked may be creating its file (empty until it is sized): read again."""
    for attempt in range(_RENDER_TRIES):
        try:
            text: bytes = generate(registry)
            return text
        except Exception:
            time.sleep(0.01 * (attempt + 1))
    return None


def answer(client: socket.socket, render: Any) -> None:
    """Read one request from ``client`` and answer it (then the connection closes)."""
    request = _read_request(client)
    if request is None:
        return
    if isinstance(request, bytes):
        client.sendall(request)
        return
    if request.method not in (b"GET", b"HEAD"):
        client.sendall(error_response(405, "Method Not Allowed"))
        return
    if request.target.partition(b"?")[0] not in _PATHS:
        client.sendall(error_response(404, "Not Found"))
        return
    body: bytes | None = render()
    if body is None:
        client.sendall(error_response(503, "Service Unavailable"))
        return
    head = (
        b"HTTP/1.1 200 OK\r\n"
        b"Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
        b"Content-Length: %d\r\n"
        b"Connection: close\r\n\r\n" % len(body)
    )
    client.sendall(head + body if request.method == b"GET" else head)


def _read_request(client: socket.socket) -> Request | bytes | None:
    """The request head, an error response to send (bytes), or None (nothing to answer)."""
    conn = Connection(_LIMITS)
    deadline = time.monotonic() + _HEAD_TIME
    while True:
        try:
            event = conn.next_event()
        except ProtocolError as exc:
            return error_response(exc.status, exc.reason)
        if isinstance(event, Request):
            return event
        if event is not NEED_DATA:
            return None  # closed before a whole head
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        client.settimeout(left)
        try:
            data = client.recv(65536)
        except TimeoutError:
            return None
        conn.receive_data(data)


def start(sock: socket.socket, path: str, leave_master: Any) -> int:
    """Fork the exporter process; its pid. ``leave_master()`` runs first in the child (it
    closes what the master holds: its wake-up pipe, the listening sockets)."""
    master = os.getpid()
    pid = os.fork()
    if pid:
        return pid
    code = 0
    try:
        leave_master()
        run(sock, path, master)
    except BaseException:  # (a bug: say so, and the master starts another)
        import traceback

        traceback.print_exc()
        code = 1
    finally:
        try:
            sys.stderr.flush()
        finally:
            os._exit(code)
