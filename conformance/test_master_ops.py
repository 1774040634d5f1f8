"""Scenario 10: the master reloads (HUP) or is upgraded (USR2, then TERM of the old master)
while load runs through nginx (deploy/nginx/corral.conf) and HAProxy
(deploy/haproxy/haproxy.cfg): no request may fail or come back 5xx through the proxy.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from corral_testing import until
from corral_testing.churn import RequestLoops
from corral_testing.process import alive
from harness.corral import StartCorral
from harness.matrix import Figure
from harness.proxies import Proxies, Proxy, Stack

MAX_SECONDS = 90.0


def _pid(path: Path) -> int:
    try:
        return int(path.read_text().strip() or 0)
    except (FileNotFoundError, ValueError):
        return 0


def _proxy(kind: str, proxies: Proxies, server) -> Proxy:
    upstream = f"{server.host}:{server.port}"
    return proxies.nginx(upstream) if kind == "nginx" else proxies.haproxy(upstream)


def _operate(operation: str, server, pidfile: Path, loops: list[RequestLoops]) -> int:
    """HUP, or USR2 then TERM of the old master; the new master's pid (0 for HUP)."""

    def sent() -> int:
        return sum(loop.tally.sent for loop in loops)

    until(lambda: sent() > 100, 30, "traffic through the proxy")
    if operation == "HUP":
        os.kill(server.pid, signal.SIGHUP)
        server.wait_log("Reload complete", timeout=60)
        new_master = 0
    else:
        old = server.pid
        os.kill(old, signal.SIGUSR2)
        until(lambda: _pid(pidfile) not in (0, old), 30, "the new master's pid file")
        new_master = _pid(pidfile)
        server.wait_log(rf"\[{new_master}\] \[INFO\] Booting worker", count=2, timeout=60)
        assert server.stop(signal.SIGTERM, timeout=60) == 0
    before = sent()
    until(lambda: sent() > before + 100, 30, "traffic after the operation")
    return new_master


@pytest.mark.cell("10 {proxy}: {operation} under load", proxy="{proxy}")
@pytest.mark.parametrize("operation", ["HUP", "USR2"])
@pytest.mark.parametrize("proxy", ["nginx", "haproxy"])
def test_reload_and_upgrade_behind_a_proxy_fail_no_request(
    worker: str,
    proxy: str,
    operation: str,
    stack: Stack,
    corrals: StartCorral,
    proxies: Proxies,
    figure: Figure,
    tmp_path: Path,
) -> None:
    pidfile = tmp_path / "corral.pid"
    server = corrals(worker, stack.gateway, "-p", str(pidfile))
    front = _proxy(proxy, proxies, server)
    host, port = front.host, front.port(80)
    loops = [
        RequestLoops(host, port, threads=2, keepalive=ka, max_seconds=MAX_SECONDS)
        for ka in (False, True)
    ]
    new_master = 0
    try:
        with loops[0], loops[1]:
            new_master = _operate(operation, server, pidfile, loops)
    finally:
        if new_master and alive(new_master):
            os.kill(new_master, signal.SIGTERM)
            deadline = time.monotonic() + 30
            while alive(new_master) and time.monotonic() < deadline:
                time.sleep(0.05)
    sent = sum(loop.tally.sent for loop in loops)
    failed = sum(loop.tally.failed for loop in loops)
    figure.set(f"{sent} requests, {failed} failed", total=sent, failed=failed)
    examples = [e for loop in loops for e in loop.tally.examples]
    assert failed == 0, examples
