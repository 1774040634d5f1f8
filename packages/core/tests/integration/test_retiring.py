"""A worker that retires never costs a client a request (docs/SIGNALS.md, "When a worker
ends"): max-requests, TTOU and TERM under load, and --timeout answering the request it cuts.

Every test runs for every installed worker class against the real binary; the request
loops are bounded in time and count, and their sent/failed figures are printed.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time

import pytest
from corral_testing import read_response, until, worker_classes
from corral_testing.churn import RequestLoops

WORKERS = worker_classes()
# The load loops share a 2-core machine with the servers (and CI with other suites): a
# --timeout well above any stall keeps these tests about retirement, not the heartbeat.
LOADED = ("--timeout", "120")


def _loops(server, **kwargs):
    fresh = RequestLoops(server.host, server.port, threads=4, keepalive=False, **kwargs)
    kept = RequestLoops(server.host, server.port, threads=4, keepalive=True, **kwargs)
    return fresh, kept


def _report(name: str, fresh, kept) -> None:
    print(f"{name}: fresh connections: {fresh.tally.summary()}")
    print(f"{name}: keep-alive connections: {kept.tally.summary()}")
    for example in fresh.tally.examples + kept.tally.examples:
        print(f"  failure: {example}")


@pytest.mark.parametrize("wclass", WORKERS)
def test_max_requests_recycling_loses_no_request(corral, wclass):
    server = corral(
        "behaviours:app",
        *("-k", wclass, "-w", "2", "--max-requests", "50", "--max-requests-jitter", "10"),
        *LOADED,
        wait_workers=2,
    )
    fresh, kept = _loops(server, max_seconds=150)
    with fresh, kept:

        def recycled() -> int:
            return server.log.count("Autorestarting worker after current request.")

        # Progress, not time: run until ten workers have retired (bounded).
        until(lambda: recycled() >= 10, 120, "ten workers to retire")
        # And until both loops have been served by a worker born after the first ones.
        first = {int(p) for p in server.worker_pids()}
        until(
            lambda: bool(fresh.tally.pids - first) and bool(kept.tally.pids - first),
            60,
            "requests served by the replacements",
        )
    _report(f"max-requests [{wclass}]", fresh, kept)
    assert fresh.tally.sent > 0 and kept.tally.sent > 0
    assert fresh.tally.failed == 0, fresh.tally.examples
    assert kept.tally.failed == 0, kept.tally.examples
    assert recycled() >= 10
    assert len(fresh.tally.pids | kept.tally.pids) >= 10


@pytest.mark.parametrize("reuse_port", [False, True], ids=["shared", "reuse-port"])
@pytest.mark.parametrize("wclass", WORKERS)
def test_ttin_then_ttou_under_load_loses_no_request(corral, wclass, reuse_port):
    extra = ["--reuse-port"] if reuse_port else []
    server = corral("behaviours:app", "-k", wclass, "-w", "2", *LOADED, *extra, wait_workers=2)
    fresh, kept = _loops(server, max_seconds=150)
    with fresh, kept:
        for _ in range(3):
            before = fresh.tally.sent + kept.tally.sent
            os.kill(server.pid, signal.SIGTTIN)
            until(lambda: len(server.worker_pids()) == 3, 30, "a third worker")
            os.kill(server.pid, signal.SIGTTOU)
            until(lambda: len(server.worker_pids()) == 2, 30, "back to two workers")
            # Requests kept flowing through the change.
            until(lambda b=before: fresh.tally.sent + kept.tally.sent > b + 50, 30, "traffic")
    _report(f"ttin/ttou [{wclass}{' --reuse-port' if reuse_port else ''}]", fresh, kept)
    assert fresh.tally.failed == 0, (fresh.tally.examples, server.log)
    assert kept.tally.failed == 0, (kept.tally.examples, server.log)


@pytest.mark.parametrize("wclass", WORKERS)
def test_term_answers_every_request_already_sent(corral, wclass):
    server = corral(
        "behaviours:app", "-k", wclass, "-w", "2", "--graceful-timeout", "90", wait_workers=2
    )
    socks = []
    for i in range(20):
        sock = socket.create_connection((server.host, server.port), timeout=120)
        sock.sendall(f"GET /sleep?s=0.5&n={i} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
        socks.append(sock)
    # Every request is sent (connected, in a worker or in the backlog): stop the server.
    code = server.stop(signal.SIGTERM, timeout=120)
    statuses = []
    for sock in socks:
        try:
            statuses.append(read_response(sock).status)
        except OSError as exc:
            statuses.append(type(exc).__name__)
        finally:
            sock.close()
    answered = statuses.count(200)
    print(f"TERM [{wclass}]: sent 20, answered {answered}, statuses {statuses}, exit {code}")
    assert answered == 20, statuses
    assert code == 0


@pytest.mark.parametrize("wclass", [w for w in WORKERS if w != "gthread"])  # gthread: below
def test_timeout_answers_the_request_it_cuts_and_replaces_the_worker(corral, wclass):
    server = corral("behaviours:app", "-k", wclass, "-w", "1", "--timeout", "2", wait_workers=1)
    first = server.wait_workers(1)[0]
    # sync: the application's own time counts; a green worker is silent while a request
    # keeps its hub busy (a cooperative sleep would not stop its heartbeat, as in Gunicorn).
    path = "/sleep?s=10" if wclass == "sync" else "/spin?s=10"
    started = time.monotonic()
    with socket.create_connection((server.host, server.port), timeout=30) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
        resp = read_response(sock)
    elapsed = time.monotonic() - started
    print(f"timeout [{wclass}]: status {resp.status} after {elapsed:.2f} s")
    assert resp.status == 500 and resp.closes
    assert elapsed >= 2.0
    server.wait_log(rf"WORKER TIMEOUT \(pid:{first}\)")
    server.wait_log(r"aborting GET /(sleep|spin)\?s=10 after \d+\.\d\d s")
    server.wait_workers(1, exclude={first}, timeout=20)
    with socket.create_connection((server.host, server.port), timeout=10) as sock:
        sock.sendall(b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
        assert read_response(sock).body == b"hello"


def test_gthread_timeout_is_the_loops_liveness_not_a_request_limit(corral):
    # As Gunicorn's gthread: the event loop beats while a pool thread runs the app, so a
    # request longer than --timeout is served; only a blocked loop would be aborted.
    server = corral("behaviours:app", "-k", "gthread", "-w", "1", "--timeout", "1")
    result = {}

    def slow() -> None:
        with socket.create_connection((server.host, server.port), timeout=30) as sock:
            sock.sendall(b"GET /sleep?s=3 HTTP/1.1\r\nHost: t\r\n\r\n")
            result["resp"] = read_response(sock)

    thread = threading.Thread(target=slow)
    thread.start()
    thread.join(30)
    assert result["resp"].status == 200 and result["resp"].body == b"slept"
    assert "WORKER TIMEOUT" not in server.log
