"""Scenario 9: workers recycled by --max-requests while load runs through nginx
(deploy/nginx/corral.conf: upstream keep-alive connections) and HAProxy
(deploy/haproxy/haproxy.cfg): no request may fail or come back 5xx through the proxy.

The load is client threads on fresh and on keep-alive connections to the proxy, each
``GET /pid`` (the worker that answered); it runs until ten workers have retired, bounded
in time and count (corral_testing.churn).
"""

from __future__ import annotations

import time

import pytest
from corral_testing.churn import RequestLoops
from harness.corral import StartCorral
from harness.matrix import Figure
from harness.proxies import Proxies, Proxy, Stack

RECYCLED = 10
MAX_SECONDS = 90.0
MAX_REQUESTS = 50_000


def _through(proxy: Proxy, server, figure: Figure) -> None:
    host, port = proxy.host, proxy.port(80)
    loops = [
        RequestLoops(
            host,
            port,
            threads=3,
            keepalive=keepalive,
            max_seconds=MAX_SECONDS,
            max_requests=MAX_REQUESTS,
        )
        for keepalive in (False, True)
    ]

    def recycled() -> int:
        return server.log.count("Autorestarting worker after current request.")

    deadline = time.monotonic() + MAX_SECONDS
    with loops[0], loops[1]:
        while recycled() < RECYCLED and time.monotonic() < deadline:
            time.sleep(0.05)
    sent = sum(loop.tally.sent for loop in loops)
    failed = sum(loop.tally.failed for loop in loops)
    pids = set().union(*(loop.tally.pids for loop in loops))
    figure.set(
        f"{sent} requests, {failed} failed, {recycled()} workers recycled, "
        f"{len(pids)} worker pids answered",
        total=sent,
        failed=failed,
        recycled=recycled(),
    )
    examples = [e for loop in loops for e in loop.tally.examples]
    assert failed == 0, examples
    assert recycled() >= RECYCLED
    assert len(pids) >= RECYCLED


@pytest.mark.cell("9 {proxy}: max-requests recycling under load", proxy="{proxy}")
@pytest.mark.parametrize("proxy", ["nginx", "haproxy"])
def test_recycling_behind_a_proxy_fails_no_request(
    worker: str, proxy: str, stack: Stack, corrals: StartCorral, proxies: Proxies, figure: Figure
) -> None:
    server = corrals(worker, stack.gateway, "--max-requests", "50", "--max-requests-jitter", "10")
    upstream = f"{server.host}:{server.port}"
    front = proxies.nginx(upstream) if proxy == "nginx" else proxies.haproxy(upstream)
    _through(front, server, figure)
