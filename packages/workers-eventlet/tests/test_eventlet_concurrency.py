"""Many concurrent connections on one worker, and the --worker-connections cap."""

from __future__ import annotations

import time

from corral_testing import Client
from corral_testing.load import many_requests, raise_fd_limit
from eventlet_testing import Serve

SLEEP = b"GET /sleep?s=1 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"


def _get(server, path: str) -> bytes:
    with server.connect() as sock:
        client = Client(sock)
        client.send(f"GET {path} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
        return client.response().body


def test_two_thousand_connections_each_held_one_second_all_complete(serve: Serve) -> None:
    assert raise_fd_limit(8192) >= 4200, "needs ~4,200 descriptors (client + server)"
    server = serve("-w", "1", "--worker-connections", "2500", "--backlog", "4096", "green_app:app")
    started = time.monotonic()
    results = many_requests(server.host, server.port, [SLEEP] * 2000, timeout=60)
    elapsed = time.monotonic() - started
    failed = [r for r in results if r.status != 200 or r.body != b"slept"]
    assert not failed, (len(failed), failed[:3])
    # One at a time would take 2,000 s; all at once takes a little over one.
    assert elapsed < 20, elapsed
    assert int(_get(server, "/most-in-flight")) >= 1000


def test_worker_connections_caps_the_connections_served_at_once(serve: Serve) -> None:
    server = serve("-w", "1", "--worker-connections", "10", "green_app:app")
    started = time.monotonic()
    results = many_requests(server.host, server.port, [SLEEP] * 30, timeout=30)
    elapsed = time.monotonic() - started
    assert [r.status for r in results] == [200] * 30
    # 30 one-second requests, 10 at a time: three waves.
    assert 2.8 < elapsed < 10, elapsed
    assert _get(server, "/most-in-flight") == b"10"
