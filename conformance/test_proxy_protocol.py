"""Scenarios 4, 5 and 6: corral behind PROXY protocol senders (HAProxy recipe B, stunnel).

Requests come from a client container, so the address the PROXY header carries (the
client container's) differs from the sender's (the proxy container's) and from the host's.
Every request of a keep-alive connection must see REMOTE_ADDR = the client container.
"""

from __future__ import annotations

import json
import re
import socket
import struct
import time

import pytest
from harness.corral import StartCorral
from harness.matrix import Figure
from harness.proxies import HAPROXY_PP_PORTS, HAPROXY_PP_SSL_PORT, Proxies, Proxy, Stack

pytestmark = pytest.mark.pending_proxy_protocol

NOT_THE_PROXY = "198.51.100.0/24"  # an --proxy-allow-from that excludes every container

VARIANTS = {  # HAProxy section -> (port inside the container, corral mode, URL scheme)
    "v1": (HAPROXY_PP_PORTS["v1"], "v1", "http"),
    "v2": (HAPROXY_PP_PORTS["v2"], "v2", "http"),
    "v2-unique-id": (HAPROXY_PP_PORTS["v2-unique-id"], "v2", "http"),
    "v2-crc32c": (HAPROXY_PP_PORTS["v2-crc32c"], "auto", "http"),
    "v2-ssl": (HAPROXY_PP_SSL_PORT, "v2", "https"),
}


def curl_twice(client: Proxy, url: str) -> tuple[int, list[dict[str, object]], str]:
    """Two requests on one connection (curl reuses it for the same host)."""
    code, out = client.exec(
        "curl", "-sS", "-k", "--max-time", "10", "-w", "\n", f"{url}?n=1", f"{url}?n=2"
    )
    docs = []
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("{"):
            docs.append(json.loads(line))
    return code, docs, out


def wait_curl(client: Proxy, url: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    out = ""
    while time.monotonic() < deadline:
        code, out = client.exec("curl", "-sS", "-k", "--max-time", "3", "-o", "/dev/null", url)
        if code == 0:
            return
        time.sleep(0.3)
    raise TimeoutError(f"{url} not answering from the client container: {out}")


def quiet_log(log: str) -> list[str]:
    return [
        line
        for line in log.splitlines()
        if "Traceback" in line or "[ERROR]" in line or "[CRITICAL]" in line
    ]


@pytest.mark.cell("4 HAProxy send-proxy {variant}", proxy="haproxy")
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_haproxy_proxy_header_gives_the_client_address_to_every_request(
    worker: str,
    variant: str,
    stack: Stack,
    corrals: StartCorral,
    proxies: Proxies,
    figure: Figure,
) -> None:
    port, mode, scheme = VARIANTS[variant]
    server = corrals(
        worker, stack.gateway, "--proxy-protocol", mode, "--proxy-allow-from", stack.subnet
    )
    haproxy = proxies.haproxy(
        stack.gateway + ":1", proxy_server=f"{server.host}:{server.port}", wait=False
    )
    client = proxies.client()
    url = f"{scheme}://{haproxy.ip}:{port}/echo"
    wait_curl(client, url)
    code, docs, out = curl_twice(client, url)
    addrs = [d.get("remote_addr") for d in docs]
    ports = [d.get("remote_port") for d in docs]
    figure.set(
        f"corral --proxy-protocol {mode}: REMOTE_ADDR {addrs} (client {client.ip})",
        extra=[d.get("extra") for d in docs],
    )
    assert code == 0 and len(docs) == 2, out
    assert addrs == [client.ip, client.ip], out
    assert ports[0] == ports[1], f"not one keep-alive connection: {ports}"
    # HAProxy health-checks all along (check-send-proxy + httpchk: a PROXY header, then
    # GET /healthz). Once the checks have had time to take a dead server down (the unused
    # corral1 of recipe A, on a closed port), this section's server must still be up.
    section = "corral_pp_" + variant.replace("-", "_")
    deadline = time.monotonic() + 30
    while "corral/corral1 is DOWN" not in haproxy.logs(100_000) and time.monotonic() < deadline:
        time.sleep(0.2)
    checks = haproxy.logs(100_000)
    assert "corral/corral1 is DOWN" in checks, checks[-3000:]
    assert f"{section}/corral is DOWN" not in checks, checks[-3000:]
    assert not quiet_log(server.log), quiet_log(server.log)[:5]


@pytest.mark.cell("5 stunnel protocol=proxy", proxy="stunnel")
def test_stunnel_proxy_header_gives_the_client_address_to_every_request(
    worker: str, stack: Stack, corrals: StartCorral, proxies: Proxies, figure: Figure
) -> None:
    server = corrals(
        worker, stack.gateway, "--proxy-protocol", "v1", "--proxy-allow-from", stack.subnet
    )
    stunnel = proxies.stunnel(f"{server.host}:{server.port}")
    client = proxies.client()
    url = f"https://{stunnel.ip}:443/echo"
    wait_curl(client, url)
    code, docs, out = curl_twice(client, url)
    addrs = [d.get("remote_addr") for d in docs]
    figure.set(f"REMOTE_ADDR {addrs} (client {client.ip})")
    assert code == 0 and len(docs) == 2, out
    assert addrs == [client.ip, client.ip], out
    assert docs[0].get("remote_port") == docs[1].get("remote_port")


def _v2_header(src: str, dst: str) -> bytes:
    body = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!HH", 40000, 80)
    return b"\r\n\r\n\x00\r\nQUIT\n" + bytes([0x21, 0x11]) + struct.pack("!H", len(body)) + body


def _request(host: str, port: int, prefix: bytes) -> bytes:
    """Send ``prefix`` + a GET; return whatever comes back before the server closes."""
    data = b""
    with socket.create_connection((host, port), timeout=5) as sock:
        sock.sendall(prefix + b"GET /refusal HTTP/1.1\r\nHost: localhost\r\n\r\n")
        sock.settimeout(3)
        try:
            while chunk := sock.recv(65536):
                data += chunk
                if b"\r\n\r\n" in data:
                    break
        except (TimeoutError, ConnectionResetError):
            pass
    return data


@pytest.mark.cell("6 PROXY refusal: {case}", proxy="{proxy}")
@pytest.mark.parametrize(
    ("case", "proxy"),
    [("sender not allowed", "haproxy"), ("no header", "none"), ("probe conns", "none")],
)
def test_proxy_protocol_refusals(
    worker: str,
    case: str,
    proxy: str,
    stack: Stack,
    corrals: StartCorral,
    proxies: Proxies,
    figure: Figure,
) -> None:
    if case == "sender not allowed":
        server = corrals(
            worker, stack.gateway, "--proxy-protocol", "v2", "--proxy-allow-from", NOT_THE_PROXY
        )
        haproxy = proxies.haproxy(
            stack.gateway + ":1", proxy_server=f"{server.host}:{server.port}", wait=False
        )
        client = proxies.client()
        code, out = client.exec(
            "curl", "-sS", "--max-time", "5", f"http://{haproxy.ip}:{HAPROXY_PP_PORTS['v2']}/echo"
        )
        figure.set(f"curl exit {code}: {out.strip()[:60]}")
        assert code != 0 and "remote_addr" not in out, out
        return
    # Straight from the host, over loopback, which is allowed to send a header.
    server = corrals(
        worker, "127.0.0.1", "--proxy-protocol", "v2", "--proxy-allow-from", "127.0.0.0/8"
    )
    if case == "no header":
        answer = _request(server.host, server.port, b"")
        figure.set(f"answer to a header-less request: {answer[:40]!r}")
        assert b"remote_addr" not in answer and not answer.startswith(b"HTTP/1.1 200"), answer
        return
    workers_before = sorted(server.worker_pids())
    for _ in range(20):
        for payload in (b"", _v2_header("203.0.113.10", "203.0.113.20")):
            with socket.create_connection((server.host, server.port), timeout=5) as sock:
                if payload:
                    sock.sendall(payload)
    time.sleep(0.5)
    answer = _request(server.host, server.port, _v2_header("203.0.113.10", "203.0.113.20"))
    status = re.match(rb"HTTP/1\.1 (\d+)", answer)
    figure.set(f"40 probe conns, then a request: {status.group(1).decode() if status else '-'}")
    assert status and status.group(1) == b"200", answer[:300]
    assert sorted(server.worker_pids()) == workers_before, "a worker died or was replaced"
    assert not [line for line in quiet_log(server.log) if "Traceback" in line], server.log[-3000:]
