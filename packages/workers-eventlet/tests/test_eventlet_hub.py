"""eventlet's own: the worker's client sockets keep one hub listener per connection
(corral_eventlet.worker.ClientSocket); it must go when the connection goes."""

from __future__ import annotations

import socket
from pathlib import Path

from corral_testing import Client
from corral_testing.green_suite import Serve

APP = """
import os
import socket
import stat

from eventlet.hubs import get_hub
from eventlet.patcher import original

def app(environ, start_response):
    # Sockets only (the main green thread's wait on the signal pipe comes and goes), and
    # not this request's own connection (whether it has a listener now depends on timing).
    hub = get_hub()
    own = (environ["REMOTE_ADDR"], int(environ["REMOTE_PORT"]))
    raw_socket = original("socket").socket
    readers = []
    for fd in list(hub.listeners[hub.READ]):
        try:
            if not stat.S_ISSOCK(os.fstat(fd).st_mode):
                continue
        except OSError:  # a listener left on a closed descriptor: a leak too
            readers.append(fd)
            continue
        probe = raw_socket(fileno=os.dup(fd))
        try:
            peer = probe.getpeername()
        except OSError:
            peer = None  # a listening socket
        finally:
            probe.close()
        if peer != own:
            readers.append(fd)
    body = str(len(readers)).encode()
    start_response("200 OK", [("Content-Length", str(len(body)))])
    return [body]
"""


def _readers(server) -> int:
    """The hub's read listeners on sockets other than this (new) connection's."""
    with server.connect() as sock:
        client = Client(sock)
        client.send(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        return int(client.response().body)


def test_closed_connections_leave_no_hub_listener(serve: Serve, tmp_path: Path) -> None:
    (tmp_path / "hub_report.py").write_text(APP)
    server = serve("hub_report:app", cwd=tmp_path)
    baseline = _readers(server)
    # Connections that waited in the hub (so each had a listener), then went away: some
    # closed by the client between requests, some after the server closed them.
    for n in range(50):
        with server.connect() as sock:
            client = Client(sock)
            for _ in range(2):
                client.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
                client.response()
            if n % 2:
                client.send(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
                client.response()
                assert client.at_eof()
            else:
                sock.shutdown(socket.SHUT_WR)
                assert client.at_eof()
    assert _readers(server) == baseline
