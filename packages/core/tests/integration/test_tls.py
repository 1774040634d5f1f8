"""TLS in the workers (--certfile): every worker class serves HTTPS, a silent TLS client is
cut at the header deadline without holding a worker, HUP takes a renewed certificate, and
every mistake in the TLS settings is one line before any worker starts."""

from __future__ import annotations

import signal
import socket
import ssl
import time
from pathlib import Path

import pytest
import trustme
from corral_testing import Client, read_response, request, upload, worker_classes
from corral_testing.process import assert_clean_error, run_corral

HEADER_TIMEOUT = 2  # seconds: short, so the cut is seen quickly


class Certs:
    """A CA of its own and a server certificate for 127.0.0.1, as files."""

    def __init__(self, folder: Path, ca: trustme.CA | None = None) -> None:
        self.ca = ca or trustme.CA()
        server = self.ca.issue_cert("127.0.0.1", "localhost")
        self.cert = folder / "server.crt"
        self.key = folder / "server.key"
        self.ca_file = folder / "ca.pem"
        server.cert_chain_pems[0].write_to_path(str(self.cert))
        server.private_key_pem.write_to_path(str(self.key))
        self.ca.cert_pem.write_to_path(str(self.ca_file))

    @property
    def args(self) -> tuple[str, ...]:
        return ("--certfile", str(self.cert), "--keyfile", str(self.key))

    def client_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        self.ca.configure_trust(context)
        return context


@pytest.fixture
def certs(tmp_path: Path) -> Certs:
    return Certs(tmp_path)


def connect_tls(
    server, context: ssl.SSLContext, rcvbuf: int = 0, timeout: float = 30
) -> ssl.SSLSocket:
    raw = socket.socket()
    if rcvbuf:  # a small window: the server's writes back up and it must wait for us
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    raw.settimeout(timeout)
    raw.connect((server.host, server.port))
    return context.wrap_socket(raw, server_hostname="127.0.0.1")


def get(path: str, close: bool = False) -> bytes:
    extra = "Connection: close\r\n" if close else ""
    return f"GET {path} HTTP/1.1\r\nHost: t\r\n{extra}\r\n".encode()


def client_hello() -> bytes:
    """The first flight of a real TLS client, made in memory."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ssl.create_default_context().wrap_bio(incoming, outgoing, server_hostname="t")
    with pytest.raises(ssl.SSLWantReadError):
        obj.do_handshake()
    return outgoing.read()


def says_hello(server, context: ssl.SSLContext) -> bool:
    """Whether GET /hello over TLS is answered (False: the TLS connection failed)."""
    try:
        with connect_tls(server, context) as sock:
            sock.sendall(get("/hello", close=True))
            return read_response(sock).body == b"hello"
    except (ssl.SSLError, ConnectionError):
        return False


def closed_by_server(sock: socket.socket) -> bool:
    """True once the server has closed ``sock`` (waits up to the socket's timeout)."""
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


@pytest.mark.parametrize("worker", worker_classes())
def test_https_is_served_by_every_worker_class(worker, corral, certs):
    server = corral("-k", worker, "-w", "1", *certs.args, "behaviours:app")
    assert server.urls[0].startswith("https://"), server.log
    with connect_tls(server, certs.client_context(), rcvbuf=4096) as sock:
        client = Client(sock)
        client.send(get("/environ?key=wsgi.url_scheme"))
        assert client.response().body == b"https"
        # Larger than anything a socket buffer holds: written in slices, as the client reads.
        client.send(get("/big?size=3000000"))
        big = client.response()
        assert (big.status, len(big.body), set(big.body)) == (200, 3_000_000, {ord("x")})
        client.send(get("/file?size=300000&length=1"))  # wsgi.file_wrapper, no sendfile
        expected = bytes(range(256)) * (300000 // 256) + b"z" * (300000 % 256)
        assert client.response().body == expected
        client.send(get("/write"))  # PEP 3333 write()
        assert client.response().body == b"written-twice-then-returned"
        # The client ends TLS (close_notify) on a kept-alive connection: the server answers
        # with its own and closes; unwrap() returns once both alerts are exchanged.
        sock.unwrap()
        assert closed_by_server(sock)
    with connect_tls(server, certs.client_context()) as sock:
        resp, digest = upload(sock, 4 << 20)
        assert resp.status == 200, resp
        assert resp.body.split()[:2] == [str(4 << 20).encode(), digest.encode()]
        sock.sendall(get("/hello", close=True))
        assert read_response(sock).body == b"hello"
        assert closed_by_server(sock)


@pytest.mark.parametrize("worker", worker_classes())
def test_a_silent_tls_client_is_cut_at_the_header_deadline(worker, corral, certs):
    """One worker; clients that connect and send nothing, or start a handshake and stop,
    hold no worker: a real client is served meanwhile; the silent ones are then cut."""
    server = corral(
        "-k", worker, "-w", "1", "--header-timeout", str(HEADER_TIMEOUT), *certs.args,
        "behaviours:app",
    )  # fmt: skip
    silent = socket.create_connection((server.host, server.port), timeout=60)
    stalled = socket.create_connection((server.host, server.port), timeout=60)
    hello = client_hello()
    stalled.sendall(hello[: len(hello) // 2])
    try:
        with connect_tls(server, certs.client_context()) as sock:
            sock.sendall(get("/hello", close=True))
            assert read_response(sock).body == b"hello"
        assert closed_by_server(silent), "a connection that sent nothing was not cut"
        assert closed_by_server(stalled), "a half-sent handshake was not cut"
    finally:
        silent.close()
        stalled.close()


@pytest.mark.parametrize("worker", worker_classes())
def test_plain_http_on_the_tls_port_gets_a_400_saying_so(worker, corral, certs):
    server = corral("-k", worker, "-w", "1", *certs.args, "behaviours:app")
    resp = request(server.host, server.port, get("/hello"), timeout=30)
    assert resp.status == 400
    assert b"HTTPS" in resp.body
    with connect_tls(server, certs.client_context()) as sock:  # and TLS still works
        sock.sendall(get("/hello", close=True))
        assert read_response(sock).body == b"hello"


def test_hup_takes_a_renewed_certificate(corral, tmp_path):
    old = Certs(tmp_path)
    server = corral("-w", "2", *old.args, "behaviours:app")
    with connect_tls(server, old.client_context()) as sock:
        sock.sendall(get("/hello", close=True))
        assert read_response(sock).body == b"hello"
    new = Certs(tmp_path)  # another CA's certificate, written over the same files
    server.proc.send_signal(signal.SIGHUP)
    server.wait_log("Reload complete", timeout=60)
    with connect_tls(server, new.client_context()) as sock:
        sock.sendall(get("/hello", close=True))
        assert read_response(sock).body == b"hello"
    with pytest.raises(ssl.SSLCertVerificationError):
        connect_tls(server, old.client_context())


def test_a_reload_with_a_broken_certificate_keeps_serving_the_old_one(corral, tmp_path):
    certs = Certs(tmp_path)
    server = corral("-w", "1", *certs.args, "behaviours:app")
    certs.key.write_text("not a key\n")
    server.proc.send_signal(signal.SIGHUP)
    line = server.wait_log("Reload failed", timeout=60)
    assert "--keyfile" in line
    with connect_tls(server, certs.client_context()) as sock:
        sock.sendall(get("/hello", close=True))
        assert read_response(sock).body == b"hello"


def test_client_certificates_when_required(corral, certs):
    server = corral(
        "-w", "1", *certs.args, "--cert-reqs", "2", "--ca-certs", str(certs.ca_file),
        "behaviours:app",
    )  # fmt: skip
    # Without a certificate the handshake fails (with TLS 1.3 the client learns it at its
    # first read): no response is given.
    assert not says_hello(server, certs.client_context())
    known = certs.client_context()
    certs.ca.issue_cert("client@example.com").configure_cert(known)
    assert says_hello(server, known)


def test_the_ssl_context_hook_shapes_the_context(corral, certs, tmp_path):
    conf = tmp_path / "tls.conf.py"
    conf.write_text(
        "import ssl\n"
        "def ssl_context(config, default_ssl_context_factory):\n"
        "    context = default_ssl_context_factory()\n"
        "    context.minimum_version = ssl.TLSVersion.TLSv1_3\n"
        "    return context\n"
    )
    server = corral("-c", str(conf), "-w", "1", *certs.args, "behaviours:app")
    old_client = certs.client_context()
    old_client.maximum_version = ssl.TLSVersion.TLSv1_2
    with pytest.raises(ssl.SSLError):
        connect_tls(server, old_client)
    with connect_tls(server, certs.client_context()) as sock:
        assert sock.version() == "TLSv1.3"
        sock.sendall(get("/hello", close=True))
        assert read_response(sock).body == b"hello"


@pytest.mark.parametrize(
    ("make_args", "fragments"),
    [
        (lambda c, d: ("--certfile", str(d / "missing.pem")), ["--certfile", "no such file"]),
        (lambda c, d: ("--keyfile", str(c.key)), ["--keyfile was given without --certfile"]),
        (
            lambda c, d: ("--certfile", str(c.cert), "--keyfile", str(c.ca_file)),
            ["--keyfile", "no PEM certificate and private key"],
        ),
        (
            lambda c, d: ("--certfile", str(c.cert), "--keyfile", str(Certs(d / "o").key)),
            ["the private key does not belong to the certificate"],
        ),
        (lambda c, d: (*c.args, "--ciphers", "NO-SUCH"), ["--ciphers NO-SUCH"]),
        (lambda c, d: (*c.args, "--ca-certs", str(c.key)), ["--ca-certs", "no PEM CA"]),
        (lambda c, d: (*c.args, "--cert-reqs", "3"), ["--cert-reqs", "from 0 to 2"]),
    ],
)
def test_tls_mistakes_are_one_line_before_any_worker(make_args, fragments, certs, tmp_path):
    (tmp_path / "o").mkdir()
    result = run_corral("-b", "127.0.0.1:0", *make_args(certs, tmp_path), "behaviours:app")
    assert_clean_error(result, 2, *fragments)
    assert "Booting worker" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("hook_body", "fragment"),
    [
        ("raise RuntimeError('no vault today')", "the ssl_context hook failed: RuntimeError"),
        ("return None", "the ssl_context hook returned NoneType, not an ssl.SSLContext"),
    ],
)
def test_a_failing_ssl_context_hook_is_named(hook_body, fragment, certs, tmp_path):
    conf = tmp_path / "hook.conf.py"
    conf.write_text(f"def ssl_context(config, factory):\n    {hook_body}\n")
    result = run_corral("-c", str(conf), "-b", "127.0.0.1:0", *certs.args, "behaviours:app")
    assert_clean_error(result, 2, fragment)
    assert "Booting worker" not in result.stdout + result.stderr


def test_gunicorn_tls_flags_that_change_nothing_are_accepted_with_a_warning(corral, certs):
    server = corral(
        "-w", "1", *certs.args, "--ssl-version", "TLSv1_2", "--do-handshake-on-connect",
        "behaviours:app",
    )  # fmt: skip
    assert "ssl_version" in server.log and "ssl_context" in server.log
    assert "do_handshake_on_connect" in server.log
    with connect_tls(server, certs.client_context()) as sock:
        sock.sendall(get("/hello", close=True))
        assert read_response(sock).body == b"hello"


@pytest.mark.parametrize("worker", worker_classes())
def test_a_slow_reader_gets_every_byte_of_a_big_tls_response(worker, corral, certs):
    """The server's socket keeps filling up: encrypted bytes wait in the worker until the
    client takes them, to the last one (the sync loop once ended the response with them
    still waiting, and closed the connection at the keep-alive deadline)."""
    server = corral("-k", worker, "-w", "1", *certs.args, "behaviours:app")
    size = 2_000_000
    with connect_tls(server, certs.client_context(), rcvbuf=4096) as sock:
        sock.sendall(get(f"/big?size={size}"))
        time.sleep(0.5)  # the server's send buffer fills before we read a byte
        got = bytearray()
        while True:
            piece = sock.recv(4096)
            if not piece:
                break
            got += piece
            if got.endswith(b"x" * 16) and len(got) >= size:
                head, _, body = bytes(got).partition(b"\r\n\r\n")
                if len(body) >= size:
                    break
            time.sleep(0.0005)  # slower than the server writes
        head, _, body = bytes(got).partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200"), head[:80]
        assert len(body) == size
