"""Slow clients against two real workers of each class, no proxy in front: the others are
still served.

1,000 slowloris connections (a head trickled a byte at a time), 100 slow bodies (a head and
3 bytes of a 1 MB body, then nothing) and 100 slow readers (a big response never read)
must not delay a probe GET by a second; each is closed at its deadline (short ones, set by
the new settings, so the test is quick); afterwards the workers hold no more descriptors
and, within a generous bound, no more memory than before. Gunicorn's sync worker fails
this: its worker is held by the first slow client until --timeout kills it.
"""

from __future__ import annotations

import resource
import select
import socket
import time
from pathlib import Path

import pytest
from corral_testing import request, rss_kib, worker_classes

LORIS, BODIES, READERS = 1000, 100, 100
DEADLINE = 4  # seconds, for --header-timeout / --body-timeout / --send-timeout / --keep-alive
SWEEP = 1.0  # deadlines are swept once a second
RSS_SLACK_KIB = 24 * 1024  # allocator slack: the peak is far above it (buffered output)


@pytest.fixture(autouse=True)
def _enough_descriptors():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = 4 * (LORIS + BODIES + READERS)
    if hard != resource.RLIM_INFINITY and hard < need:
        pytest.skip(f"RLIMIT_NOFILE hard limit {hard} < {need}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, need), hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def _fds(pid: int) -> int:
    return len(list(Path(f"/proc/{pid}/fd").iterdir()))


def _open(port: int, count: int, first: bytes, rcvbuf: int = 0) -> list[socket.socket]:
    socks = []
    for _ in range(count):
        sock = socket.socket()
        if rcvbuf:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.settimeout(5)
        sock.connect(("127.0.0.1", port))
        sock.sendall(first)
        sock.setblocking(False)
        socks.append(sock)
    return socks


def _ask(port: int, path: str) -> bytes:
    """The body of a 200 answer to a GET on a new connection (raises if none in 5 s)."""
    raw = f"GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".encode()
    resp = request("127.0.0.1", port, raw, timeout=5)
    assert resp.status == 200, resp
    return resp.body


def _probe(port: int) -> float:
    """Seconds for one GET /hello on a new connection."""
    start = time.monotonic()
    assert _ask(port, "/hello") == b"hello"
    return time.monotonic() - start


def _closed_by_server(sock: socket.socket, budget: int = 64 << 20) -> bool:
    """True if the server closed ``sock`` (reads, and discards, what it had sent)."""
    try:
        while budget > 0:
            data = sock.recv(1 << 20)
            if not data:
                return True
            budget -= len(data)
    except BlockingIOError:
        return False
    except OSError:
        return True  # reset: closed too
    return False


@pytest.mark.slow
@pytest.mark.parametrize("wclass", worker_classes())
def test_slowloris_slow_bodies_and_slow_readers_do_not_starve_other_clients(corral, wclass):
    server = corral(
        "behaviours:app", "-w", "2", "-k", wclass, "--threads", "2",
        "--header-timeout", str(DEADLINE), "--body-timeout", str(DEADLINE),
        "--send-timeout", str(DEADLINE), "--keep-alive", str(DEADLINE),
        "--worker-connections", "2000", "--backlog", "2048",
        wait_workers=2,
    )  # fmt: skip
    pids = server.wait_workers(2)
    # Both workers have served a request (the app and the request path are loaded, the
    # accepting machinery is set up), and their descriptors have settled; else "before"
    # misses what a worker opens for its first connection.
    served: set[int] = set()
    counts: dict[int, int] = {}
    ready_by = time.monotonic() + 60
    while served != set(pids) or any(_fds(pid) != counts.get(pid) for pid in pids):
        assert time.monotonic() < ready_by, f"workers {set(pids) - served} served nothing"
        counts = {pid: _fds(pid) for pid in pids}
        for _ in range(10):
            served.add(int(_ask(server.port, "/pid")))
        time.sleep(0.2)
    before = {pid: (rss_kib(pid), counts[pid]) for pid in pids}

    opened = time.monotonic()
    loris = _open(server.port, LORIS, b"GET /hello HTTP/1.1\r\nHost: t\r\n")
    bodies = _open(
        server.port,
        BODIES,
        b"POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000\r\n\r\nabc",
    )
    readers = _open(
        server.port, READERS, b"GET /big?size=16000000 HTTP/1.1\r\nHost: t\r\n\r\n", rcvbuf=4096
    )
    slow = {"loris": loris, "bodies": bodies, "readers": readers}
    try:
        # Probe while the slow clients are all connected; the loris clients keep trickling.
        # What is asserted is that probes are answered before any slow client could have
        # been cut (its deadline counts from its accept, after ``opened``), however long a
        # busy machine makes each probe: they were served beside the slow clients, not
        # after them (Gunicorn's sync worker answers nothing until --timeout).
        worst = 0.0
        probes = 0
        window = opened + DEADLINE - 1.0
        first_answered = 0.0
        while probes < 200 and (probes == 0 or time.monotonic() < window):
            for sock in loris:
                try:
                    sock.send(b"X")
                except OSError:
                    pass
            worst = max(worst, _probe(server.port))
            probes += 1
            first_answered = first_answered or time.monotonic()
        print(f"[{wclass}] {probes} probe(s), the slowest {worst:.3f}s")
        assert first_answered < opened + DEADLINE, (
            f"the first probe was answered {first_answered - opened:.1f}s after the slow "
            f"clients connected, past their {DEADLINE}s deadline"
        )
        # Still open just before their deadline ...
        assert not any(_closed_by_server(s) for s in bodies[:10])
        # ... and all closed by the server soon after it (trickling does not extend a head).
        # Nothing is read from the readers before then: reading is progress, not slowness.
        quiet_until = opened + DEADLINE + SWEEP + 1.0
        while time.monotonic() < quiet_until:
            for sock in loris:
                try:
                    sock.send(b"X")
                except OSError:
                    pass
            time.sleep(0.25)
        # A bound, not a timing claim: on a loaded machine a slow reader may be accepted,
        # or its response produced, seconds late, and its deadline counts from then. What
        # is asserted is that the server closes every one of them by itself.
        end = time.monotonic() + 60.0
        pending = {name: list(group) for name, group in slow.items()}
        while time.monotonic() < end and any(pending.values()):
            for name, group in pending.items():
                pending[name] = [s for s in group if not _closed_by_server(s)]
            select.select([], [], [], 0.2)
        still = {name: len(group) for name, group in pending.items() if group}
        assert not still, f"not closed at their deadline: {still}"
        assert _ask(server.port, "/hello") == b"hello"  # and the workers serve on
    finally:
        for group in slow.values():
            for sock in group:
                sock.close()

    # What the slow clients held is given back: descriptors exactly, memory within slack.
    assert server.worker_pids() == pids, "a worker was replaced"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        after = {pid: (rss_kib(pid), _fds(pid)) for pid in pids}
        if all(after[p][1] <= before[p][1] for p in pids):
            break
        time.sleep(0.2)
    for pid in pids:
        links = sorted(str(p.readlink()) for p in Path(f"/proc/{pid}/fd").iterdir())
        assert after[pid][1] <= before[pid][1], (pid, before[pid], after[pid], links)
        assert after[pid][0] <= before[pid][0] + RSS_SLACK_KIB, (pid, before[pid], after[pid])
