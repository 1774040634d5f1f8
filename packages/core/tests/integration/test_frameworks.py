"""A real Flask application and a real Django project behind corral, in every worker class.

Both fixture apps (``fixtureapps/flaskapp.py``, ``fixtureapps/djangoproject``) answer the
same paths, so each test asks every (framework, worker class) pair the same question, on one
server per pair (one worker, so the pid the app reports tells whether the worker survived).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from corral_testing import Client, CorralProcess, Response, worker_classes

FRAMEWORKS = {"flask": "flaskapp:app", "django": "djangoproject.wsgi:application"}
PAIRS = [(framework, worker) for framework in FRAMEWORKS for worker in worker_classes()]
STATIC_SIZE = 3 * 1024 * 1024 + 17  # not a multiple of any block size


@pytest.fixture(scope="module")
def static_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("static") / "blob.bin"
    path.write_bytes(os.urandom(STATIC_SIZE))
    return path


def _serve(framework: str, worker: str, static: Path, *flags: str) -> CorralProcess:
    threads = ("--threads", "4") if worker == "gthread" else ()
    env = {**os.environ, "CORRAL_TESTING_STATIC": str(static)}
    server = CorralProcess(
        "-k", worker, "-w", "1", *threads, *flags, FRAMEWORKS[framework], env=env
    )
    return server.start(timeout=60, wait_workers=1)


def _stopped(server: CorralProcess) -> None:
    try:
        assert server.stop(timeout=30) == 0, server.log
    finally:
        if server.proc is not None and server.proc.poll() is None:
            server.kill()


@pytest.fixture(scope="module", params=PAIRS, ids=["-".join(p) for p in PAIRS])
def served(
    request: pytest.FixtureRequest, static_file: Path
) -> Iterator[tuple[str, str, CorralProcess]]:
    """(framework, worker class, its server with default settings)."""
    framework, worker = request.param
    server = _serve(framework, worker, static_file)
    yield framework, worker, server
    _stopped(server)


@pytest.fixture(scope="module", params=PAIRS, ids=["-".join(p) for p in PAIRS])
def served_no_sendfile(
    request: pytest.FixtureRequest, static_file: Path
) -> Iterator[tuple[str, str, CorralProcess]]:
    """(framework, worker class, its server with ``--no-sendfile``)."""
    framework, worker = request.param
    server = _serve(framework, worker, static_file, "--no-sendfile")
    yield framework, worker, server
    _stopped(server)


def _get(client: Client, path: str, method: str = "GET") -> Response:
    client.send(f"{method} {path} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
    return client.response(head_only=method == "HEAD")


def _worker_pid(server: CorralProcess) -> int:
    with server.connect() as sock:
        return int(_get(Client(sock), "/pid").body)


def _written_chars(pid: int) -> int:
    """``wchar`` of /proc/PID/io: bytes the process wrote through write-like system calls.
    sendfile(2) counts there; send(2) and sendmsg(2) on a socket do not."""
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        if line.startswith("wchar:"):
            return int(line.split()[1])
    raise LookupError(f"no wchar for {pid}")


def test_json_request_and_response_on_a_kept_alive_connection(served):
    framework, _, server = served
    with server.connect() as sock:
        client = Client(sock)
        resp = _get(client, "/")
        assert resp.status == 200 and resp.body == f"hello from {framework}".encode()
        payload = json.dumps({"a": [1, 2], "name": "ünïcode"}).encode()
        client.send(
            b"POST /json HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n%b" % (len(payload), payload)
        )
        resp = client.response()
        assert resp.status == 200 and resp.header("Content-Type") == "application/json"
        doc = resp.json()
    assert doc == {
        "received": {"a": [1, 2], "name": "ünïcode"},
        "remote": "127.0.0.1",
        "scheme": "http",
        "pid": server.worker_pids()[0],
    }


def test_streamed_response_is_chunked(served):
    _, _, server = served
    with server.connect() as sock:
        resp = _get(Client(sock), "/stream")
    assert resp.status == 200 and resp.chunked, resp.raw_head
    assert resp.header("Content-Length") is None
    assert resp.body == b"part 0\npart 1\npart 2\n"


def _multipart(fields: dict[str, str], name: str, data: bytes) -> tuple[str, bytes]:
    """A multipart/form-data body: text ``fields`` and one file part ``name``."""
    boundary = "corral-" + hashlib.sha256(data[:64]).hexdigest()[:24]
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode()
        for key, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return f"multipart/form-data; boundary={boundary}", b"".join(parts)


def test_multipart_upload_of_five_megabytes_arrives_whole(served):
    _, _, server = served
    data = os.urandom(5 * 1024 * 1024)
    content_type, body = _multipart({"name": "blob"}, "blob.bin", data)
    with server.connect(timeout=60) as sock:
        client = Client(sock)
        client.send(
            f"POST /upload HTTP/1.1\r\nHost: t\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n".encode()
        )
        for start in range(0, len(body), 1 << 20):
            client.send(body[start : start + (1 << 20)])
        resp = client.response()
    assert resp.status == 200, resp.body[:500]
    assert resp.json() == {
        "sha256": hashlib.sha256(data).hexdigest(),
        "length": len(data),
        "name": "blob",
    }


def _check_static_file(server: CorralProcess, static: Path, sendfile: bool) -> None:
    expected = static.read_bytes()
    pid = _worker_pid(server)
    with server.connect(timeout=30) as sock:
        client = Client(sock)
        before = _written_chars(pid)
        resp = _get(client, "/static")
        written = _written_chars(pid) - before
        assert resp.status == 200 and resp.header("Content-Length") == str(len(expected))
        assert resp.body == expected
        resp = _get(client, "/counted-static")
        assert resp.status == 200 and resp.body == expected
        calls = int(_get(client, "/fileno-calls").body)
    if sendfile:
        # The server asked the file for its descriptor, and sendfile(2) wrote its bytes.
        assert calls >= 1, calls
        assert written >= len(expected), written
    else:
        # The server never asked for a descriptor: it read the file object's blocks
        # and sent them with send(2), which /proc/PID/io's wchar does not count.
        assert calls == 0, calls
        assert written < len(expected) // 2, written


def test_file_wrapper_sends_a_static_file_with_sendfile(served, static_file):
    _, _, server = served
    _check_static_file(server, static_file, sendfile=True)


def test_file_wrapper_sends_a_static_file_with_no_sendfile(served_no_sendfile, static_file):
    _, _, server = served_no_sendfile
    _check_static_file(server, static_file, sendfile=False)


@pytest.mark.parametrize("path", ["/hello", "/static"])
def test_head_has_the_headers_of_get_and_no_body(served, path):
    _, _, server = served
    with server.connect(timeout=30) as sock:
        client = Client(sock)
        get = _get(client, path)
        head = _get(client, path, method="HEAD")
        # The next response parses: no body bytes followed the HEAD response's head.
        after = _get(client, "/pid")

    def without_date(resp: Response) -> list[tuple[str, str]]:
        return [(k, v) for k, v in resp.headers if k.lower() != "date"]

    assert get.status == head.status == 200
    assert int(get.header("Content-Length") or -1) == len(get.body) > 0
    assert without_date(head) == without_date(get)
    assert after.status == 200 and after.body.isdigit(), after.raw_head + after.body[:100]


def test_an_exception_in_a_view_is_a_500_logged_and_the_worker_serves_on(served):
    framework, _, server = served
    pid = _worker_pid(server)
    message = f"RuntimeError: boom from a {framework} view"
    seen = server.log.count(message)
    with server.connect() as sock:
        resp = _get(Client(sock), "/boom")
    assert resp.status == 500 and resp.body == b"Internal Server Error\n"
    assert resp.closes
    log = server.wait_log(re.escape(message), count=seen + 1)
    at = log.rindex(message)
    assert "Error handling request /boom\nTraceback (most recent call last):" in log[:at]
    assert "in boom\n" in log[log.rindex("Error handling request /boom") : at]
    assert _worker_pid(server) == pid  # the same worker serves the next request
    assert server.worker_pids() == [pid]
