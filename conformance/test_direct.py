"""Straight at corral, no proxy: slow clients (scenario 3) and readiness-probe connections."""

from __future__ import annotations

import re
import socket
import struct
import time

import pytest
from harness.corral import StartCorral, worker_setup
from harness.matrix import Figure
from harness.slow import KINDS, SlowClients, probe

LOOPBACK = "127.0.0.1"
ATTACK_SECONDS = 6.0


def attack_size(worker: str) -> int:
    """At least ten times the threads that run the application (processes x threads)."""
    return max(10 * worker_setup(worker).slots, 50)


@pytest.mark.cell("3 direct slow client: {kind}", proxy="none")
@pytest.mark.parametrize("kind", KINDS)
def test_worker_keeps_serving_while_slow_clients_hold_connections(
    worker: str, kind: str, corrals: StartCorral, figure: Figure
) -> None:
    server = corrals(worker, LOOPBACK)
    count = attack_size(worker)
    slow = SlowClients(kind, server.host, server.port, count, ATTACK_SECONDS).start()
    try:
        result = probe(server.host, server.port, ATTACK_SECONDS - 1.5)
    finally:
        stats = slow.stop()
    figure.set(
        f"{stats.opened} slow conns, {stats.still_open} still open; {result.summary()}",
        opened=stats.opened,
        still_open=stats.still_open,
        probes=result.count,
        worst_ms=round(result.worst * 1000),
    )
    assert stats.opened == count, f"only {stats.opened}/{count} slow connections opened"
    # What a worker blocked by the slow clients would show is a probe unanswered for its
    # 5 s timeout while they hold on (they are released only after probe() returns): no
    # failure is the claim. How fast each answer came is a figure, not an assertion: a
    # busy machine slows them all.
    assert result.count >= 3
    assert not result.failures, f"probes failed: {result.failures[:5]}"
    # The attack was real: corral kept the slow connections open (its deadlines are far
    # longer than the attack) rather than winning by dropping them.
    assert stats.still_open >= count * 0.9, f"{stats.closed_by_server} slow conns were closed"


def _proxy_v1() -> bytes:
    return b"PROXY TCP4 203.0.113.10 203.0.113.20 40000 80\r\n"


def _proxy_v2() -> bytes:
    signature = b"\r\n\r\n\x00\r\nQUIT\n"
    addresses = socket.inet_aton("203.0.113.10") + socket.inet_aton("203.0.113.20")
    addresses += struct.pack("!HH", 40000, 80)
    return signature + bytes([0x21, 0x11]) + struct.pack("!H", len(addresses)) + addresses


@pytest.mark.cell("0 readiness probes: empty / PROXY-only conns", proxy="none")
def test_probe_connections_that_send_nothing_or_only_a_proxy_header_are_shrugged_off(
    worker: str, corrals: StartCorral, figure: Figure
) -> None:
    """Port probes connect and close; HAProxy's check-send-proxy sends a PROXY header and
    closes. corral without --proxy-protocol must drop these quietly and keep serving."""
    server = corrals(worker, LOOPBACK)
    workers_before = sorted(server.worker_pids())
    kinds = {"empty": b"", "proxy-v1": _proxy_v1(), "proxy-v2": _proxy_v2()}
    for _ in range(20):
        for payload in kinds.values():
            with socket.create_connection((server.host, server.port), timeout=5) as sock:
                if payload:
                    sock.sendall(payload)
    time.sleep(0.5)
    result = probe(server.host, server.port, 2.0)
    log = server.log
    tracebacks = len(re.findall(r"Traceback", log))
    errors = [line for line in log.splitlines() if "[ERROR]" in line or "[CRITICAL]" in line]
    figure.set(
        f"60 probe conns; {result.summary()}; {tracebacks} tracebacks, {len(errors)} errors",
        tracebacks=tracebacks,
    )
    assert result.count >= 3 and not result.failures, result.summary()
    assert sorted(server.worker_pids()) == workers_before, "a worker died or was replaced"
    assert tracebacks == 0, log[-3000:]
    assert not errors, errors[:5]
