"""Slow clients: deadlines close them, so they cannot use up --worker-connections."""

from __future__ import annotations

import socket
import threading
import time

from corral_testing import Client
from eventlet_testing import Serve


def _trickle(sock: socket.socket, stop: threading.Event) -> None:
    """Slowloris: a request head, one header byte every 0.3 s, never finished."""
    try:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: t\r\nX-Slow: ")
        while not stop.wait(0.3):
            sock.sendall(b"a")
    except OSError:
        pass  # closed by the server


def _closed_after(sock: socket.socket, started: float) -> float:
    sock.settimeout(30)
    try:
        while sock.recv(4096):
            pass
    except ConnectionResetError:
        pass
    return time.monotonic() - started


def test_slowloris_connections_are_closed_at_the_head_deadline(serve: Serve) -> None:
    server = serve("--timeout", "2", "--worker-connections", "4", "green_app:app")
    stop = threading.Event()
    slow = [server.connect() for _ in range(4)]
    started = time.monotonic()
    threads = [threading.Thread(target=_trickle, args=(s, stop), daemon=True) for s in slow]
    for thread in threads:
        thread.start()
    try:
        time.sleep(0.2)
        # Every slot is held by a slow client; this request waits in the backlog until
        # the deadline frees the slots, then is served.
        with server.connect(timeout=30) as sock:
            client = Client(sock)
            client.send(b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
            resp = client.response()
            served_after = time.monotonic() - started
        closed = [_closed_after(s, started) for s in slow]
    finally:
        stop.set()
        for s in slow:
            s.close()
    assert resp.body == b"hello"
    assert all(1.5 < t < 4.5 for t in closed), closed
    assert 1.5 < served_after < 5, served_after


def test_a_body_that_stops_arriving_is_closed_at_the_idle_deadline(serve: Serve) -> None:
    server = serve("--timeout", "2", "green_app:app")
    with server.connect() as sock:
        sock.sendall(b"POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\nabc")
        started = time.monotonic()
        elapsed = _closed_after(sock, started)
    assert 1.5 < elapsed < 4.5, elapsed
    # The worker lives on.
    with server.connect() as sock:
        client = Client(sock)
        client.send(b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
        assert client.response().body == b"hello"
