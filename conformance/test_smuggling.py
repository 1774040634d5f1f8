"""Scenario 7: request smuggling through each proxy. corral must never serve a smuggled
request: the attack carries a complete second request (``/smuggled-<token>``) hidden where
a front-end and a back-end that disagree about message framing would see it as a request
of its own. The app records every request it sees; afterwards no recorded request may be
the smuggled one, and ordinary requests sent next (on fresh connections, so through the
proxy's pooled upstream connections) must each be served as themselves.
"""

from __future__ import annotations

import json
import re
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from corral_testing import CorralProcess
from harness.corral import StartCorral, start_corral
from harness.matrix import Figure
from harness.proxies import Proxies, Proxy, Stack, get

HOST = "Host: localhost\r\n"


def _smuggled(token: str) -> str:
    return f"GET /smuggled-{token} HTTP/1.1\r\n{HOST}\r\n"


def cl_te(t: str) -> str:
    body = "0\r\n\r\n" + _smuggled(t)
    return (
        f"POST /carrier-{t} HTTP/1.1\r\n{HOST}Content-Length: {len(body)}\r\n"
        f"Transfer-Encoding: chunked\r\n\r\n{body}"
    )


def te_cl(t: str) -> str:
    inner = _smuggled(t)
    size_line = f"{len(inner):x}\r\n"
    return (
        f"POST /carrier-{t} HTTP/1.1\r\n{HOST}Content-Length: {len(size_line)}\r\n"
        f"Transfer-Encoding: chunked\r\n\r\n{size_line}{inner}\r\n0\r\n\r\n"
    )


def obs_fold(t: str) -> str:
    body = "0\r\n\r\n" + _smuggled(t)
    return (
        f"POST /carrier-{t} HTTP/1.1\r\n{HOST}Content-Length: {len(body)}\r\n"
        f"Transfer-Encoding:\r\n chunked\r\n\r\n{body}"
    )


def bare_lf(t: str) -> str:
    body = "0\r\n\r\n" + _smuggled(t)
    return (
        f"POST /carrier-{t} HTTP/1.1\r\n{HOST}Content-Length: {len(body)}\r\n"
        f"X-Padding: a\nTransfer-Encoding: chunked\r\n\r\n{body}"
    )


def duplicate_cl(t: str) -> str:
    inner = _smuggled(t)
    return (
        f"POST /carrier-{t} HTTP/1.1\r\n{HOST}Content-Length: 0\r\n"
        f"Content-Length: {len(inner)}\r\n\r\n{inner}"
    )


def te_te(t: str) -> str:
    body = "0\r\n\r\n" + _smuggled(t)
    return (
        f"POST /carrier-{t} HTTP/1.1\r\n{HOST}Content-Length: {len(body)}\r\n"
        f"Transfer-Encoding: chunked\r\nTransfer-Encoding: cow\r\n\r\n{body}"
    )


PAYLOADS: dict[str, Callable[[str], str]] = {
    "CL.TE": cl_te,
    "TE.CL": te_cl,
    "obs-fold": obs_fold,
    "bare LF": bare_lf,
    "duplicate CL": duplicate_cl,
    "TE.TE": te_te,
}
PROXIES = ["nginx", "haproxy"]


@dataclass
class Target:
    corral: CorralProcess
    proxy: Proxy
    record: Path

    def seen(self, token: str) -> list[dict[str, object]]:
        if not self.record.exists():
            return []
        docs = [json.loads(line) for line in self.record.read_text().splitlines() if line]
        return [d for d in docs if token in str(d.get("path", ""))]


class Targets:
    """One corral + proxy per (proxy, worker), shared by the payload tests of a module."""

    def __init__(self, stack: Stack, corrals: StartCorral, proxies: Proxies, tmp: Path) -> None:
        self.stack = stack
        self.corrals = corrals
        self.proxies = proxies
        self.tmp = tmp
        self.made: dict[tuple[str, str], Target] = {}

    def get(self, proxy: str, worker: str) -> Target:
        key = (proxy, worker)
        if key not in self.made:
            record = self.tmp / f"record-{proxy}-{worker}.jsonl"
            server = self.corrals(worker, self.stack.gateway, record=record)
            address = f"{server.host}:{server.port}"
            front = (
                self.proxies.nginx(address) if proxy == "nginx" else self.proxies.haproxy(address)
            )
            self.made[key] = Target(server, front, record)
        return self.made[key]


@pytest.fixture(scope="module")
def targets(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Targets]:
    started: list[CorralProcess] = []

    def start(worker: str, host: str, *extra: str, **kw: object) -> CorralProcess:
        proc = start_corral(worker, host, *extra, **kw)  # type: ignore[arg-type]
        started.append(proc)
        return proc

    made = Proxies(stack, lambda p: None)
    built = Targets(stack, start, made, tmp_path_factory.mktemp("smuggling"))
    try:
        yield built
    finally:
        made.close()
        for proc in started:
            try:
                proc.stop(timeout=15)
            except Exception:
                proc.kill()


def _send_attack(host: str, port: int, payload: bytes, wait: float = 2.0) -> list[int]:
    """Send the attack; collect every status line the proxy answers with for ``wait`` s."""
    data = b""
    with socket.create_connection((host, port), timeout=5) as sock:
        sock.sendall(payload)
        sock.settimeout(0.25)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                break
            if not chunk:
                break
            data += chunk
    return [int(code) for code in re.findall(rb"HTTP/1\.[01] (\d{3})", data)]


@pytest.mark.cell("7 smuggling: {payload}", proxy="{proxy}")
@pytest.mark.parametrize("payload", list(PAYLOADS))
@pytest.mark.parametrize("proxy", PROXIES)
def test_proxy_and_corral_never_serve_a_smuggled_request(
    worker: str, proxy: str, payload: str, targets: Targets, figure: Figure
) -> None:
    target = targets.get(proxy, worker)
    token = uuid.uuid4().hex[:10]
    attack = PAYLOADS[payload](token).encode("latin-1")
    host, port = target.proxy.host, target.proxy.port(80)
    statuses = _send_attack(host, port, attack)

    # Then ordinary requests, each on a fresh client connection: a smuggled prefix left on
    # a pooled upstream connection would turn one of them into something else.
    victims = []
    for i in range(4):
        resp = get(host, port, f"/victim-{token}-{i}")
        victims.append((i, resp.status, resp.body))
    time.sleep(0.3)
    seen = target.seen(token)
    paths = [f"{d['method']} {d['path']}" for d in seen]
    figure.set(
        f"proxy answered {statuses or 'nothing'}; corral served "
        f"{', '.join(p.split('-')[0] for p in paths if '/victim' not in p) or 'nothing'}",
        statuses=statuses,
        seen=paths,
    )
    diag = f"proxy log:\n{target.proxy.logs(3000)}\nseen: {paths}"
    assert not [p for p in paths if "/smuggled" in p], f"smuggled request served! {diag}"
    for i, status, body in victims:
        assert status == 200, f"victim {i} got {status} {body[:200]!r}\n{diag}"
        assert body.endswith(f"GET /victim-{token}-{i}".encode()), f"victim {i}: {body!r}"
    victim_paths = sorted(p for p in paths if "/victim-" in p)
    assert victim_paths == [f"GET /victim-{token}-{i}" for i in range(4)], diag
    carriers = [d for d in seen if "/carrier-" in str(d["path"])]
    assert len(carriers) <= 1, diag
