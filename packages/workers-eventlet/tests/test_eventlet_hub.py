"""eventlet's own: the worker's client sockets keep one hub listener per connection
(corral_eventlet.worker.ClientSocket); it must go when the connection goes."""

from __future__ import annotations

import socket
import time
from pathlib import Path

from corral_testing import Client
from corral_testing.green_suite import Serve

APP = """
import os
import stat

from eventlet.hubs import get_hub

def app(environ, start_response):
    # Sockets only: the main green thread's wait on the signal pipe comes and goes.
    hub = get_hub()
    readers = [fd for fd in hub.listeners[hub.READ] if stat.S_ISSOCK(os.fstat(fd).st_mode)]
    body = str(len(readers)).encode()
    start_response("200 OK", [("Content-Length", str(len(body)))])
    return [body]
"""


def _readers(server) -> int:
    """The hub's read listeners while this (new) connection's request runs."""
    with server.connect() as sock:
        time.sleep(0.2)  # its green thread waits in the hub first: one listener, always
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
