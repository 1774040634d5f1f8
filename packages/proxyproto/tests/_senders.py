"""Run real PROXY protocol senders (HAProxy, stunnel) on loopback and record what they send.

Nothing here is typed by hand: a small listener on 127.0.0.1 records the raw
bytes each sender writes, a generated config in a temporary directory points
the sender at it, one client connection (or a health check) is driven, and the
sender process is stopped.
"""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import trustme

LOOPBACK = "127.0.0.1"
# What the client writes after connecting: the "first HTTP request" that
# shares a packet with the header and must come back untouched.
CLIENT_PAYLOAD = b"GET /corral HTTP/1.1\r\nHost: localhost\r\n\r\n"
TIMEOUT = 10.0

INSTALL_HINT = (
    "{name!r} was not found on PATH. The PROXY protocol interop tests run the real "
    "program; install it with `apt-get install -y {package}` (the project's "
    "tools/system-packages.txt lists it)."
)


def require_binary(name: str, package: str) -> str:
    """Return the path of *name* or FAIL (not skip) with install instructions."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(INSTALL_HINT.format(name=name, package=package), pytrace=False)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        port: int = s.getsockname()[1]
        return port


class Recorder:
    """A TCP listener on 127.0.0.1 that records every byte of every connection."""

    def __init__(self) -> None:
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((LOOPBACK, 0))
        self._sock.listen(16)
        self._sock.settimeout(0.2)
        self.port: int = self._sock.getsockname()[1]
        self._lock = threading.Lock()
        self._done: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._record, args=(conn,), daemon=True).start()

    def _record(self, conn: socket.socket) -> None:
        chunks: list[bytes] = []
        conn.settimeout(TIMEOUT)
        with conn:
            try:
                while True:
                    data = conn.recv(65536)
                    if not data:
                        break
                    chunks.append(data)
                    if b"".join(chunks).endswith(CLIENT_PAYLOAD):
                        break
            except OSError:
                pass
        with self._lock:
            self._done.append(b"".join(chunks))

    def wait(self, *, with_payload: bool, timeout: float = TIMEOUT) -> bytes:
        """Wait for the first finished connection that carried bytes.

        With *with_payload*, only a connection that relayed the client's
        request counts (the readiness probe's connection does not).
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                for data in self._done:
                    if data and (not with_payload or data.endswith(CLIENT_PAYLOAD)):
                        return data
            time.sleep(0.02)
        raise AssertionError("the sender did not deliver any bytes to the recorder")

    def close(self) -> None:
        self._stop.set()
        self._sock.close()
        self._thread.join(timeout=2)


def _wait_listening(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(
                f"{proc.args!r} exited with {proc.returncode}: {log.read_text(errors='replace')}"
            )
        try:
            with socket.create_connection((LOOPBACK, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"{proc.args!r} did not listen on {port}")


@contextmanager
def running(argv: list[str], log: Path, port: int | None) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
    try:
        if port is not None:
            _wait_listening(port, proc, log)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass(frozen=True)
class Capture:
    """What a sender wrote on one connection, and the client's view of it."""

    data: bytes
    client_port: int
    frontend_port: int
    backend_port: int


def _drive_client(port: int, tls: ssl.SSLContext | None) -> int:
    sock = socket.create_connection((LOOPBACK, port), timeout=TIMEOUT)
    client_port: int = sock.getsockname()[1]
    try:
        if tls is not None:
            with tls.wrap_socket(sock, server_hostname="localhost") as tsock:
                tsock.sendall(CLIENT_PAYLOAD)
                tsock.settimeout(1.0)
                try:
                    tsock.recv(1)
                except OSError:
                    pass
        else:
            sock.sendall(CLIENT_PAYLOAD)
            sock.settimeout(1.0)
            try:
                sock.recv(1)
            except OSError:
                pass
    finally:
        sock.close()
    return client_port


HAPROXY_TEMPLATE = """\
global
    maxconn 64
defaults
    mode tcp
    timeout connect 3s
    timeout client 5s
    timeout server 5s
{extra_defaults}
frontend fe
    bind {loopback}:{frontend_port}{bind_opts}
{frontend_extra}
    default_backend be
backend be
    server s1 {loopback}:{backend_port} {server_opts}
"""


@dataclass(frozen=True)
class TLSFiles:
    ca_pem: Path
    server_pem: Path
    client_ctx: ssl.SSLContext


def make_tls(tmp: Path) -> TLSFiles:
    """A test CA, a server certificate for 127.0.0.1/localhost and a client certificate."""
    ca = trustme.CA()
    server = ca.issue_cert("localhost", "127.0.0.1")
    client = ca.issue_cert("client.corral.test", common_name="corral-test-client")
    ca_pem = tmp / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_pem))
    server_pem = tmp / "server.pem"
    server.private_key_and_cert_chain_pem.write_to_path(str(server_pem))
    client_pem = tmp / "client.pem"
    client.private_key_and_cert_chain_pem.write_to_path(str(client_pem))
    ctx = ssl.create_default_context(cafile=str(ca_pem))
    ctx.load_cert_chain(str(client_pem))
    ctx.set_alpn_protocols(["http/1.1"])
    return TLSFiles(ca_pem, server_pem, ctx)


def capture_haproxy(
    tmp: Path,
    server_opts: str,
    *,
    tls: TLSFiles | None = None,
    frontend_extra: str = "",
    health_check: bool = False,
) -> Capture:
    """Run HAProxy with ``server ... <server_opts>`` pointing at a recorder."""
    haproxy = require_binary("haproxy", "haproxy")
    recorder = Recorder()
    frontend_port = free_port()
    bind_opts = ""
    if tls is not None:
        bind_opts = (
            f" ssl crt {tls.server_pem} ca-file {tls.ca_pem} verify optional alpn http/1.1,h2"
        )
    cfg = tmp / "haproxy.cfg"
    cfg.write_text(
        HAPROXY_TEMPLATE.format(
            loopback=LOOPBACK,
            frontend_port=frontend_port,
            backend_port=recorder.port,
            bind_opts=bind_opts,
            frontend_extra=frontend_extra,
            server_opts=server_opts,
            extra_defaults="",
        )
    )
    try:
        # A health check needs no client, so the frontend is not probed either:
        # every connection the recorder sees then comes from the checker.
        probe = None if health_check else frontend_port
        with running([haproxy, "-db", "-f", str(cfg)], tmp / "haproxy.log", probe):
            client_port = 0
            if not health_check:
                client_port = _drive_client(frontend_port, tls.client_ctx if tls else None)
            data = recorder.wait(with_payload=not health_check)
    finally:
        recorder.close()
    return Capture(data, client_port, frontend_port, recorder.port)


STUNNEL_TEMPLATE = """\
foreground = yes
pid =
output = {log}
debug = warning
[corral]
accept = {loopback}:{frontend_port}
connect = {loopback}:{backend_port}
cert = {cert}
protocol = proxy
"""


def capture_stunnel(tmp: Path) -> Capture:
    """Run stunnel (TLS server mode, ``protocol = proxy``) pointing at a recorder."""
    stunnel = require_binary("stunnel4", "stunnel4")
    tls = make_tls(tmp)
    recorder = Recorder()
    frontend_port = free_port()
    cfg = tmp / "stunnel.conf"
    cfg.write_text(
        STUNNEL_TEMPLATE.format(
            log=tmp / "stunnel.out",
            loopback=LOOPBACK,
            frontend_port=frontend_port,
            backend_port=recorder.port,
            cert=tls.server_pem,
        )
    )
    try:
        with running([stunnel, str(cfg)], tmp / "stunnel.log", frontend_port):
            client_port = _drive_client(frontend_port, tls.client_ctx)
            data = recorder.wait(with_payload=True)
    finally:
        recorder.close()
    return Capture(data, client_port, frontend_port, recorder.port)
