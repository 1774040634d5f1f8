"""Stopping, timeouts and --preload with the gevent worker."""

from __future__ import annotations

import os
import signal
import threading
import time

from corral_testing import Client
from corral_testing.load import many_requests
from gevent_testing import Serve

SLEEP_1 = b"GET /sleep?s=1 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"


def _get(server, path: str, timeout: float = 10.0):
    with server.connect(timeout=timeout) as sock:
        client = Client(sock)
        client.send(f"GET {path} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
        return client.response()


def test_term_finishes_in_flight_requests_and_closes_idle_keep_alive_at_once(serve: Serve):
    server = serve("--graceful-timeout", "20", "--keep-alive", "30", "green_app:app")
    idle = server.connect()
    idle_client = Client(idle)
    idle_client.send(b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
    assert idle_client.response().body == b"hello"  # now idle, kept alive for 30 s
    results: list[object] = []
    raws = [b"GET /sleep?s=2 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"] * 5
    thread = threading.Thread(
        target=lambda: results.extend(many_requests(server.host, server.port, raws))
    )
    thread.start()
    time.sleep(0.7)  # the five requests are in the app
    sent = time.monotonic()
    os.kill(server.pid, signal.SIGTERM)
    assert idle_client.at_eof(timeout=5)
    idle_closed = time.monotonic() - sent
    idle.close()
    assert server.proc is not None
    assert server.proc.wait(20) == 0
    stopped = time.monotonic() - sent
    thread.join(10)
    assert idle_closed < 1.0, idle_closed
    assert [(r.status, r.body) for r in results] == [(200, b"slept")] * 5  # type: ignore[attr-defined]
    assert 0.8 < stopped < 5, stopped


def test_requests_still_running_after_the_graceful_timeout_are_cut(serve: Serve) -> None:
    server = serve("--graceful-timeout", "1", "green_app:app")
    results: list[object] = []
    raw = [b"GET /sleep?s=30 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"]
    thread = threading.Thread(
        target=lambda: results.extend(many_requests(server.host, server.port, raw, timeout=30))
    )
    thread.start()
    time.sleep(0.5)
    started = time.monotonic()
    assert server.stop(signal.SIGTERM) == 0
    assert time.monotonic() - started < 5
    thread.join(10)
    assert results[0].status == 0  # type: ignore[attr-defined]  # cut, no response


def test_cpu_bound_request_stops_the_hub_heartbeat_and_the_worker_is_replaced(serve: Serve):
    server = serve("--timeout", "2", "green_app:app")
    first = server.wait_workers(1)[0]
    # A cooperative wait longer than --timeout is fine: the hub keeps beating.
    assert _get(server, "/sleep?s=4").body == b"slept"
    assert server.worker_pids() == [first]
    # CPU work never yields to the hub: no heartbeat, the master kills the worker.
    threading.Thread(target=lambda: _quiet(server, "/spin?s=60"), daemon=True).start()
    server.wait_log(rf"WORKER TIMEOUT \(pid:{first}\)", timeout=15)
    server.wait_workers(1, exclude={first}, timeout=15)
    assert _get(server, "/hello").body == b"hello"


def _quiet(server, path: str) -> None:
    try:
        _get(server, path, timeout=60)
    except OSError:
        pass


def test_quit_is_a_fast_stop(serve: Serve) -> None:
    server = serve("--graceful-timeout", "30", "green_app:app")
    threading.Thread(target=lambda: _quiet(server, "/sleep?s=20"), daemon=True).start()
    time.sleep(0.5)
    started = time.monotonic()
    assert server.stop(signal.SIGQUIT) == 0
    assert time.monotonic() - started < 5


def test_preload_patches_the_master_before_importing_the_app(serve: Serve) -> None:
    server = serve("--preload", "-w", "2", "green_app:app")
    assert _get(server, "/patched").body == b"True"
    # The app's own `from time import sleep` is cooperative in the workers.
    started = time.monotonic()
    results = many_requests(server.host, server.port, [SLEEP_1] * 100)
    assert [r.status for r in results] == [200] * 100
    assert time.monotonic() - started < 5
    # The patched master still reaps and replaces workers, and stops cleanly.
    victim = server.wait_workers(2)[0]
    os.kill(victim, signal.SIGKILL)
    server.wait_workers(2, exclude={victim}, timeout=15)
    assert _get(server, "/hello").body == b"hello"
    assert server.stop(signal.SIGTERM) == 0
