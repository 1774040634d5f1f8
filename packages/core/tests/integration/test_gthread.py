"""The gthread worker: the sync worker's loop with application calls in a thread pool."""

from __future__ import annotations

import hashlib
import socket
import threading
import time

from corral_testing import Client, until


def _get(port: int, path: str, timeout: float = 10.0) -> tuple[float, bytes]:
    start = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        client = Client(sock)
        client.send(f"GET {path} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
        resp = client.response()
    assert resp.status == 200, resp
    return time.monotonic() - start, resp.body


def test_environ_says_multithread(corral):
    server = corral("echo:app", "-k", "gthread", "--threads", "2")
    with server.connect() as sock:
        client = Client(sock)
        client.send(b"POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc")
        doc = client.response().json()
    assert doc["wsgi.multithread"] is True
    assert doc["body"] == "abc"


def test_sync_environ_is_not_multithread(corral):
    server = corral("echo:app", "-k", "sync")
    with server.connect() as sock:
        client = Client(sock)
        client.send(b"GET /x HTTP/1.1\r\nHost: t\r\n\r\n")
        assert client.response().json()["wsgi.multithread"] is False


def _sleeping(port: int) -> tuple[int, int]:
    """Requests in the app's /sleep now, and the most at once (behaviours app)."""
    now, most = _get(port, "/sleeping")[1].split()
    return int(now), int(most)


def test_slow_application_calls_run_in_parallel_and_do_not_hold_the_loop(corral):
    server = corral("behaviours:app", "-k", "gthread", "--threads", "5")
    bodies: list[bytes] = []

    def sleeper() -> None:
        bodies.append(_get(server.port, "/sleep?s=10", timeout=60)[1])

    threads = [threading.Thread(target=sleeper) for _ in range(4)]
    for thread in threads:
        thread.start()
    # The four calls sleep at once, one thread each, while the loop goes on accepting and
    # parsing: the fifth thread answers every poll meanwhile.
    until(lambda: _sleeping(server.port)[1] == 4, 30, "four calls in the app at once")
    assert _get(server.port, "/hello")[1] == b"hello"
    for thread in threads:
        thread.join(60)
    assert bodies == [b"slept"] * 4
    assert _sleeping(server.port) == (0, 4)


def test_a_reader_that_does_not_read_holds_no_thread(corral):
    server = corral("behaviours:app", "-k", "gthread", "--threads", "1", "--send-timeout", "30")
    stuck = socket.socket()
    stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stuck.connect(("127.0.0.1", server.port))
    try:
        stuck.sendall(b"GET /big?size=50000000 HTTP/1.1\r\nHost: t\r\n\r\n")
        time.sleep(0.5)  # the response is produced until it parks
        took, body = _get(server.port, "/hello", timeout=25)
        assert body == b"hello"
        # A thread held by the reader would be freed only by --send-timeout (30 s).
        assert took < 25, f"the only thread was held by a slow reader ({took:.2f}s)"
        # and the parked response is still whole when the reader reads
        stuck.settimeout(10)
        got = 0
        head = b""
        while b"\r\n\r\n" not in head:
            head += stuck.recv(65536)
        got = len(head.split(b"\r\n\r\n", 1)[1])
        while got < 50_000_000:
            piece = stuck.recv(1 << 20)
            assert piece
            got += len(piece)
        assert got == 50_000_000
    finally:
        stuck.close()


def test_keep_alive_pipelining_write_and_file_wrapper(corral):
    server = corral("behaviours:app", "-k", "gthread", "--threads", "2")
    with server.connect() as sock:
        client = Client(sock)
        client.send(
            b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n"
            b"GET /write HTTP/1.1\r\nHost: t\r\n\r\n"
            b"GET /file?size=300000&length=1 HTTP/1.1\r\nHost: t\r\n\r\n"
            b"GET /stream?n=50&size=1000 HTTP/1.1\r\nHost: t\r\n\r\n"
        )
        assert client.response().body == b"hello"
        assert client.response().body == b"written-twice-then-returned"
        body = client.response().body
        assert body == (bytes(range(256)) * (300000 // 256) + b"z" * (300000 % 256))
        stream = client.response()
        assert stream.chunked and len(stream.body) == 50 * 1000


def test_upload_is_buffered_before_the_application_runs(corral):
    server = corral("behaviours:app", "-k", "gthread", "--threads", "2")
    body = bytes(range(256)) * 12_000  # ~3 MB: spilled to a temporary file
    with server.connect() as sock:
        client = Client(sock)
        client.send(b"POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n" % len(body))
        for i in range(0, len(body), 100_000):
            client.send(body[i : i + 100_000])
        size, digest, _, _ = client.response().body.split()
    assert int(size) == len(body)
    assert digest.decode() == hashlib.sha256(body).hexdigest()


def test_application_error_is_a_500_and_the_worker_lives(corral):
    server = corral("behaviours:app", "-k", "gthread", "--threads", "2")
    with server.connect() as sock:
        client = Client(sock)
        client.send(b"GET /raise HTTP/1.1\r\nHost: t\r\n\r\n")
        assert client.response().status == 500
    assert _get(server.port, "/hello")[1] == b"hello"
    server.wait_log("boom from the fixture app")
