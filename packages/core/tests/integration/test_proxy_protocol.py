"""--proxy-protocol behind real HAProxy and stunnel on loopback, in every worker class.

The client connects from 127.0.0.2 (a loopback address other than the proxy's), so the
address corral reports can only be right if it came from the PROXY header.
"""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import trustme
from corral_testing import Client, worker_classes

CLIENT_ADDR = "127.0.0.2"


def _binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(
            f"{name} is not installed: apt-get install -y {name} "
            "(tools/system-packages.txt lists it)",
            pytrace=False,
        )
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {port}")


@contextmanager
def haproxy(tmp_path: Path, backend_port: int, send: str, frontend: str = "") -> Iterator[int]:
    port = _free_port()
    cfg = tmp_path / f"haproxy-{port}.cfg"
    cfg.write_text(f"""
global
    maxconn 256
defaults
    mode tcp
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:{port}
    {frontend}
    default_backend be
backend be
    server corral 127.0.0.1:{backend_port} {send}
""")
    proc = subprocess.Popen(
        [_binary("haproxy"), "-f", str(cfg), "-db"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_port(port)
        yield port
    finally:
        proc.terminate()
        proc.wait(10)


def _client_socket(port: int) -> socket.socket:
    sock = socket.socket()
    sock.settimeout(10)
    sock.bind((CLIENT_ADDR, 0))
    sock.connect(("127.0.0.1", port))
    return sock


def _keep_alive_requests(sock: socket.socket, count: int = 3) -> list[dict]:
    client = Client(sock)
    docs = []
    for i in range(count):
        client.send(f"GET /r{i} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
        resp = client.response()
        assert resp.status == 200 and not resp.closes
        docs.append(resp.json())
    return docs


@pytest.mark.parametrize("worker", worker_classes())
@pytest.mark.parametrize(
    ("send", "mode", "version"),
    [
        ("send-proxy", "auto", 1),
        ("send-proxy-v2", "auto", 2),
        ("send-proxy", "v1", 1),
        ("send-proxy-v2", "v2", 2),
    ],
)
def test_haproxy_client_address_for_every_keep_alive_request(
    corral, tmp_path, worker, send, mode, version
):
    log = tmp_path / "access.log"
    server = corral(
        "-k", worker, "--proxy-protocol", mode, "--access-logfile", str(log), "echo:app"
    )
    with haproxy(tmp_path, server.port, send) as port, _client_socket(port) as sock:
        local_port = sock.getsockname()[1]
        docs = _keep_alive_requests(sock)
    assert [d["REMOTE_ADDR"] for d in docs] == [CLIENT_ADDR] * 3
    assert [d["REMOTE_PORT"] for d in docs] == [str(local_port)] * 3
    assert all(d["proxy"]["version"] == version and d["PROXY_PROTOCOL"] == "TCP4" for d in docs)
    server.stop()
    lines = log.read_text().splitlines()
    assert len(lines) == 3 and all(line.startswith(f"{CLIENT_ADDR} ") for line in lines), lines


def test_haproxy_v2_unique_id_and_crc32c_reach_the_environ(corral, tmp_path):
    server = corral("--proxy-protocol", "v2", "echo:app")
    send = "send-proxy-v2 proxy-v2-options unique-id,crc32c"
    frontend = "unique-id-format corral-%ci-%cp"
    with (
        haproxy(tmp_path, server.port, send, frontend) as port,
        _client_socket(port) as sock,
    ):
        client_port = sock.getsockname()[1]
        docs = _keep_alive_requests(sock, 2)
    tlvs = docs[0]["proxy"]["tlvs"]
    assert isinstance(tlvs["crc32c"], int)  # present, and verified by the codec
    assert tlvs["unique_id"] == f"corral-{CLIENT_ADDR}-{client_port}"
    assert [d["REMOTE_ADDR"] for d in docs] == [CLIENT_ADDR] * 2


def test_haproxy_health_checks_are_not_errors(corral, tmp_path):
    server = corral("--proxy-protocol", "auto", "echo:app")
    port = _free_port()
    cfg = tmp_path / "hc.cfg"
    cfg.write_text(f"""
defaults
    mode tcp
    timeout connect 2s
    timeout client 5s
    timeout server 5s
backend be
    server corral 127.0.0.1:{server.port} send-proxy-v2 check inter 200ms
listen dummy
    bind 127.0.0.1:{port}
    server corral 127.0.0.1:{server.port} send-proxy-v2 check inter 200ms
""")
    proc = subprocess.Popen(
        [_binary("haproxy"), "-f", str(cfg), "-db"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        time.sleep(2.0)  # about ten health checks each
    finally:
        proc.terminate()
        out = proc.communicate(timeout=10)[0].decode()
    assert "DOWN" not in out, out
    assert "Invalid PROXY header" not in server.log and "Traceback" not in server.log


@pytest.mark.parametrize("worker", worker_classes())
def test_stunnel_terminates_tls_and_passes_the_client_address(corral, tmp_path, worker):
    server = corral("-k", worker, "--proxy-protocol", "v1", "echo:app")
    ca = trustme.CA()
    cert = ca.issue_cert("localhost")
    pem = tmp_path / "server.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(pem))
    port = _free_port()
    conf = tmp_path / "stunnel.conf"
    conf.write_text(f"""
foreground = yes
pid =
[https]
accept = 127.0.0.1:{port}
connect = 127.0.0.1:{server.port}
cert = {pem}
protocol = proxy
""")
    proc = subprocess.Popen(
        [_binary("stunnel4"), str(conf)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        _wait_port(port)
        ctx = ssl.create_default_context()
        ca.configure_trust(ctx)
        with ctx.wrap_socket(_client_socket(port), server_hostname="localhost") as tls:
            docs = _keep_alive_requests(tls)  # type: ignore[arg-type]
    finally:
        proc.terminate()
        proc.wait(10)
    assert [d["REMOTE_ADDR"] for d in docs] == [CLIENT_ADDR] * 3


def test_missing_header_invalid_header_and_refused_peer_close_the_connection(corral):
    server = corral("--proxy-protocol", "v1", "--proxy-allow-from", "127.0.0.1", "echo:app")
    cases = [
        (b"GET / HTTP/1.1\r\nHost: t\r\n\r\n", "Invalid PROXY header"),  # no header
        (b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n", "Invalid PROXY header"),  # bad v1
        (
            b"\r\n\r\n\x00\r\nQUIT\n\x21\x11\x00\x0c" + b"\x00" * 12,
            "Invalid PROXY header",
        ),  # v2 where only v1 is allowed
    ]
    for raw, message in cases:
        with server.connect() as sock:
            client = Client(sock)
            client.send(raw)
            assert client.at_eof()
        server.wait_log(message)
    # A peer outside --proxy-allow-from: refused even with a valid header.
    with _client_socket(server.port) as sock:
        client = Client(sock)
        client.send(b"PROXY TCP4 10.0.0.1 10.0.0.2 1000 80\r\nGET / HTTP/1.1\r\nHost: t\r\n\r\n")
        assert client.at_eof()
    server.wait_log(r"Refused a connection from 127\.0\.0\.2")
    # An allowed peer with a valid header is served, header and request in one packet.
    with server.connect() as sock:
        client = Client(sock)
        client.send(
            b"PROXY TCP6 2001:db8::1 2001:db8::2 4000 80\r\nGET / HTTP/1.1\r\nHost: t\r\n\r\n"
        )
        doc = client.response().json()
    assert doc["REMOTE_ADDR"] == "2001:db8::1" and doc["REMOTE_PORT"] == "4000"
    assert "Traceback" not in server.log


def test_log_flood_is_limited(corral):
    server = corral("--proxy-protocol", "v1", "echo:app")
    for _ in range(30):
        with server.connect() as sock:
            sock.sendall(b"garbage\r\n")
            Client(sock).at_eof()
    time.sleep(0.5)
    assert server.log.count("Invalid PROXY header") <= 5 * len(server.worker_pids())
