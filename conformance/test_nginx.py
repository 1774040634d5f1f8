"""nginx in front of corral: scenario 1 (deploy/nginx/corral.conf, buffered, TCP) and 2
(deploy/nginx/corral-async.conf, unbuffered, unix socket)."""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path

import pytest
from harness.corral import ASYNC_WORKERS, WORKERS_PER_MASTER, StartCorral, worker_setup
from harness.matrix import Figure
from harness.proxies import Proxies, Stack, raw_request, socket_folder
from harness.slow import KINDS, SlowClients, SlowStats, probe

ATTACK_SECONDS = 7.0
# An address no test traffic goes to: a --forwarded-allow-ips that does not include nginx.
NOT_NGINX = "198.51.100.1"


@pytest.mark.cell("1 nginx buffering: slowloris+slow body+slow read", proxy="nginx")
@pytest.mark.workers("sync")
def test_nginx_buffering_shields_sync_workers_from_slow_clients(
    worker: str, stack: Stack, corrals: StartCorral, proxies: Proxies, figure: Figure
) -> None:
    slots = worker_setup(worker).slots
    per_kind = 10 * slots  # each kind alone is ten times the worker slots
    server = corrals(worker, stack.gateway)
    nginx = proxies.nginx(f"{server.host}:{server.port}")
    host, port = nginx.host, nginx.port(80)
    attacks = [
        SlowClients(kind, host, port, per_kind, ATTACK_SECONDS, big_size=4 * 1024 * 1024)
        for kind in KINDS
    ]
    for attack in attacks:
        attack.start()
    try:
        result = probe(host, port, ATTACK_SECONDS - 2.0)
    finally:
        stats: list[SlowStats] = [attack.stop() for attack in attacks]
    opened = sum(s.opened for s in stats)
    figure.set(
        f"{opened} slow conns vs {slots} slots; {result.summary()}",
        slow=opened,
        slots=slots,
        worst_ms=round(result.worst * 1000),
    )
    assert opened == 3 * per_kind, [vars(s) for s in stats]
    # What a worker blocked by the slow clients would show is a probe unanswered for its
    # 5 s timeout while they hold on (they are released only after probe() returns): no
    # failure is the claim. How fast each answer came is a figure, not an assertion: a
    # busy machine slows them all.
    assert result.count >= 3
    assert not result.failures, result.failures[:5]


def _echo_through(
    host: str, port: int, tls: bool, stack: Stack, extra: str = ""
) -> dict[str, object]:
    raw = (
        "GET /echo HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n" + extra + "\r\n"
    ).encode()
    ctx = stack.tls.client_context() if tls else None
    resp = raw_request(host, port, raw, tls=ctx)
    assert resp.status == 200, resp
    doc = json.loads(resp.body)
    assert isinstance(doc, dict)
    return doc


@pytest.mark.cell("1 nginx X-Forwarded-* ({trust})", proxy="nginx")
@pytest.mark.parametrize("trust", ["nginx allowed", "nginx not allowed"])
def test_forwarded_headers_are_honoured_only_from_allowed_addresses(
    worker: str, trust: str, stack: Stack, corrals: StartCorral, proxies: Proxies, figure: Figure
) -> None:
    """--forwarded-allow-ips (Gunicorn's flag; corral's semantics in docs/settings.md):
    from an allowed peer, X-Forwarded-For gives REMOTE_ADDR and X-Forwarded-Proto gives
    wsgi.url_scheme; from any other peer both are ignored (REMOTE_ADDR is nginx's address,
    the scheme is http)."""
    allowed = trust == "nginx allowed"
    allow = stack.subnet if allowed else NOT_NGINX
    server = corrals(worker, stack.gateway, "--forwarded-allow-ips", allow)
    nginx = proxies.nginx(f"{server.host}:{server.port}")

    over_tls = _echo_through(nginx.host, nginx.port(443), True, stack)
    # A client that forges the scheme headers over plain HTTP: the recipe must overwrite
    # X-Forwarded-Proto and drop X-Forwarded-Ssl / -Protocol.
    forged = _echo_through(
        nginx.host,
        nginx.port(80),
        False,
        stack,
        "X-Forwarded-Proto: https\r\nX-Forwarded-Ssl: on\r\nX-Forwarded-Protocol: ssl\r\n",
    )
    figure.set(
        f"allow {allow}: TLS request from {over_tls['remote_addr']} "
        f"scheme={over_tls['scheme']}; forged plain request scheme={forged['scheme']}",
    )
    headers = over_tls["headers"]
    assert isinstance(headers, dict)
    # What nginx sent, per the recipe: the client as nginx saw it (the suite's network
    # gateway, where the test's connections come from) and the scheme it was reached by.
    assert headers.get("HTTP_X_FORWARDED_FOR") == stack.gateway
    assert headers.get("HTTP_X_FORWARDED_PROTO") == "https"
    if allowed:
        assert over_tls["remote_addr"] == stack.gateway
        assert over_tls["scheme"] == "https"
    else:
        assert over_tls["remote_addr"] == nginx.ip
        assert over_tls["scheme"] == "http"
    forged_headers = forged["headers"]
    assert isinstance(forged_headers, dict)
    assert forged_headers.get("HTTP_X_FORWARDED_PROTO") == "http"
    assert "HTTP_X_FORWARDED_SSL" not in forged_headers
    assert "HTTP_X_FORWARDED_PROTOCOL" not in forged_headers
    assert forged["scheme"] == "http"


def _stream(host: str, port: int, path: str, out: list[tuple[float, float, int, str]]) -> None:
    """Read a streamed response; record (first byte s, last byte s, bytes, error)."""
    began = time.monotonic()
    first = 0.0
    total = 0
    error = ""
    raw = f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode()
    try:
        with socket.create_connection((host, port), timeout=10) as sock:
            sock.sendall(raw)
            head = b""
            while True:
                data = sock.recv(65536)
                if not data:
                    break
                if not total and b"chunk " in head + data:
                    first = time.monotonic() - began
                head = (head + data)[-64:]
                total += len(data)
    except OSError as exc:
        error = f"{type(exc).__name__}: {exc}"
    out.append((first, time.monotonic() - began, total, error))


def _corral_on_socket(worker: str, stack: Stack, corrals: StartCorral, *extra: str) -> Path:
    """corral on a unix socket in a folder set up as the nginx page (docs/deploy/nginx.md) says."""
    folder = socket_folder(stack.folder)
    corrals(worker, f"unix:{folder}/corral.sock", "--umask", "007", *extra)
    return folder


@pytest.mark.cell("2 nginx async site: unbuffered streaming (unix socket)", proxy="nginx")
@pytest.mark.workers(*ASYNC_WORKERS)
def test_nginx_streams_unbuffered_to_async_workers(
    worker: str, stack: Stack, corrals: StartCorral, proxies: Proxies, figure: Figure
) -> None:
    """More concurrent streams than a sync pool has slots, through corral-async.conf
    (proxy_buffering off) to corral on a unix socket: each stream's first chunk arrives
    long before its last, and ordinary requests are still answered quickly meanwhile."""
    streams = 10 * WORKERS_PER_MASTER  # ten times what a sync pool of that size holds
    # A gthread worker holds one stream per thread: the recipe says to size --threads for
    # the concurrent streams, and so does the test.
    extra = ("--threads", str(streams)) if worker == "gthread" else ()
    nginx = proxies.nginx_async(_corral_on_socket(worker, stack, corrals, *extra))
    host, port = nginx.host, nginx.port(80)
    chunks, delay = 20, 0.15  # each stream lasts about 3 s
    results: list[tuple[float, float, int, str]] = []
    threads = [
        threading.Thread(
            target=_stream, args=(host, port, f"/stream/?n={chunks}&delay={delay}", results)
        )
        for _ in range(streams)
    ]
    for thread in threads:
        thread.start()
    probes = probe(host, port, 2.0)
    for thread in threads:
        thread.join(30)
    errors = [r[3] for r in results if r[3]]
    firsts = [r[0] for r in results]
    spans = [r[1] - r[0] for r in results]
    figure.set(
        f"{len(results)} concurrent streams; first chunk worst {max(firsts, default=0):.2f} s; "
        f"{probes.summary()}",
        streams=len(results),
    )
    assert len(results) == streams and not errors, errors[:5]
    assert all(r[2] >= chunks * 100 for r in results), "a stream was cut short"
    # Unbuffered: every stream's chunks came spread over its ~3 s (a buffered one arrives
    # in one piece at the end); probes were answered meanwhile.
    assert min(spans) > (chunks - 1) * delay * 0.6, "a stream arrived in one piece (buffered)"
    assert probes.count >= 3 and not probes.failures, probes.summary()


@pytest.mark.cell("2 nginx async site: X-Forwarded-* over the unix socket", proxy="nginx")
@pytest.mark.workers("gevent", "eventlet")
def test_async_site_gives_the_scheme_and_client_over_the_unix_socket(
    worker: str, stack: Stack, corrals: StartCorral, proxies: Proxies, figure: Figure
) -> None:
    """On a unix socket corral trusts nginx's X-Forwarded-* (no --forwarded-allow-ips):
    the scheme and REMOTE_ADDR are the client's (from X-Forwarded-Proto and -For), and a
    client's forged scheme headers are overwritten or dropped by the recipe."""
    nginx = proxies.nginx_async(_corral_on_socket(worker, stack, corrals))
    over_tls = _echo_through(nginx.host, nginx.port(443), True, stack)
    forged = _echo_through(
        nginx.host,
        nginx.port(80),
        False,
        stack,
        "X-Forwarded-Proto: https\r\nX-Forwarded-Ssl: on\r\nX-Forwarded-Protocol: ssl\r\n",
    )
    figure.set(
        f"TLS request: scheme={over_tls['scheme']} remote_addr={over_tls['remote_addr']!r}; "
        f"forged plain request scheme={forged['scheme']}"
    )
    headers, forged_headers = over_tls["headers"], forged["headers"]
    assert isinstance(headers, dict) and isinstance(forged_headers, dict)
    assert over_tls["scheme"] == "https"
    assert over_tls["remote_addr"] == stack.gateway
    assert headers.get("HTTP_X_FORWARDED_FOR") == stack.gateway
    assert forged["scheme"] == "http"
    assert forged_headers.get("HTTP_X_FORWARDED_PROTO") == "http"
    assert "HTTP_X_FORWARDED_SSL" not in forged_headers
    assert "HTTP_X_FORWARDED_PROTOCOL" not in forged_headers


@pytest.mark.cell("1 nginx client abort: corral's answer is still awaited", proxy="nginx")
@pytest.mark.workers("sync")
def test_buffered_site_waits_for_corral_after_the_client_hung_up(
    worker: str, stack: Stack, corrals: StartCorral, proxies: Proxies, figure: Figure
) -> None:
    """proxy_ignore_client_abort on: a client (a health checker, say) that hangs up while
    corral works does not make nginx drop the corral connection. nginx waits for the
    answer and logs corral's status (200), where it would log 499 and close the upstream
    connection under the worker otherwise; the worker then serves on."""
    server = corrals(worker, stack.gateway)
    nginx = proxies.nginx(f"{server.host}:{server.port}")
    host, port = nginx.host, nginx.port(80)
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(b"GET /slow?wait=1.5 HTTP/1.1\r\nHost: localhost\r\n\r\n")
        time.sleep(0.3)  # let nginx pass the request on; then hang up
    line = ""
    deadline = time.monotonic() + 30
    while not line and time.monotonic() < deadline:
        line = next((x for x in nginx.logs(100_000).splitlines() if "GET /slow" in x), "")
        time.sleep(0.1)
    status = line.split('" ', 1)[1].split()[0] if '" ' in line else ""
    figure.set(f"nginx logged {status or 'nothing'} for the abandoned request")
    assert status == "200", line or nginx.logs()
    resp = raw_request(host, port, b"GET /after HTTP/1.1\r\nHost: localhost\r\n\r\n")
    assert resp.status == 200 and resp.body.endswith(b"GET /after"), resp
