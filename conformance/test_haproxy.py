"""Scenario 8: HAProxy (deploy/haproxy/haproxy.cfg, recipe A) balancing two corral
masters; one is stopped with TERM while load runs. Health checks take it out of rotation
and retries cover the requests caught in between: no request may fail."""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter

import pytest
from corral_testing import read_response
from harness.corral import StartCorral
from harness.matrix import Figure
from harness.proxies import Proxies, Stack

CLIENTS = 4
LOAD_SECONDS = 9.0
MAX_REQUESTS = 20000
TERM_AFTER = 3.0


@pytest.mark.cell("8 HAProxy: TERM one of two masters under load", proxy="haproxy")
def test_stopping_one_master_under_load_fails_no_request(
    worker: str, stack: Stack, corrals: StartCorral, proxies: Proxies, figure: Figure
) -> None:
    first = corrals(worker, stack.gateway, name="first")
    second = corrals(worker, stack.gateway, name="second")
    haproxy = proxies.haproxy(f"{first.host}:{first.port}", f"{second.host}:{second.port}")
    host, port = haproxy.host, haproxy.port(80)

    # Both masters in rotation before the load starts.
    deadline = time.monotonic() + 15
    names: set[bytes] = set()
    while names != {b"first", b"second"} and time.monotonic() < deadline:
        with socket.create_connection((host, port), timeout=5) as sock:
            sock.sendall(b"GET /warmup HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            names.add(read_response(sock).body.split(b" ")[0])
    assert names == {b"first", b"second"}, f"HAProxy did not balance: {names}"

    served: Counter[str] = Counter()
    after_stop: Counter[str] = Counter()
    failures: list[str] = []
    lock = threading.Lock()
    stop_at: list[float] = []
    end = time.monotonic() + LOAD_SECONDS

    def client(n: int) -> None:
        i = 0
        while time.monotonic() < end:
            with lock:
                if sum(served.values()) + len(failures) >= MAX_REQUESTS:
                    return
            i += 1
            raw = f"GET /load-{n}-{i} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
            try:
                with socket.create_connection((host, port), timeout=10) as sock:
                    sock.sendall(raw.encode())
                    resp = read_response(sock)
                outcome = resp.body.split(b" ")[0].decode() if resp.status == 200 else ""
                error = "" if outcome else f"status {resp.status}: {resp.body[:100]!r}"
            except (OSError, ConnectionError, ValueError) as exc:
                outcome, error = "", f"{type(exc).__name__}: {exc}"
            with lock:
                if error:
                    failures.append(error)
                else:
                    served[outcome] += 1
                    if stop_at and time.monotonic() > stop_at[0] + 3.0:
                        after_stop[outcome] += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    time.sleep(TERM_AFTER)
    stop_at.append(time.monotonic())
    code = first.stop()  # TERM: graceful stop of the first master
    stopped_in = time.monotonic() - stop_at[0]
    for thread in threads:
        thread.join(LOAD_SECONDS + 20)
    total = sum(served.values()) + len(failures)
    figure.set(
        f"{total} requests, {len(failures)} failed; first master exited {code} in "
        f"{stopped_in:.1f} s; served {dict(served)}",
        total=total,
        failed=len(failures),
    )
    assert code == 0, first.log[-2000:]
    assert served["first"] > 0 and served["second"] > 0, dict(served)
    assert not failures, f"{len(failures)} failed: {Counter(failures).most_common(5)}"
    # Once the stopped master is gone, everything goes to the other one.
    assert after_stop and set(after_stop) == {"second"}, dict(after_stop)
