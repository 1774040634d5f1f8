"""The blocking driver with a streaming session (``recv=``), over a real socket pair and a
thread: the mode the gevent and eventlet workers use. Several tests are regression tests
for bugs found while building those workers."""

from __future__ import annotations

import hashlib
import socket
import threading

import pytest
from corral.blocking import serve_connection
from corral.deadlines import Deadlines, Watch
from corral.http import Limits
from corral.session import Session
from corral.wsgi import ConnInfo, WSGIRunner
from corral_testing import Client


class _Log:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def _add(self, msg: str, *args: object) -> None:
        self.lines.append(msg % args if args else msg)

    debug = info = warning = error = exception = _add


def _app(environ, start_response):
    path = environ["PATH_INFO"]
    inp = environ["wsgi.input"]
    if path == "/hash":
        digest = hashlib.sha256()
        total = 0
        while piece := inp.read(10000):
            digest.update(piece)
            total += len(piece)
        body = f"{total} {digest.hexdigest()}".encode()
    elif path == "/lines":
        body = repr(list(inp)).encode()
    elif path == "/ignore-body":
        body = b"ignored"
    elif path == "/echo":
        body = inp.read()
    else:
        read = inp.read()
        body = f"{environ['REQUEST_METHOD']} {path} {len(read)}".encode()
    start_response("200 OK", [("Content-Length", str(len(body)))])
    return [body]


@pytest.fixture
def served():
    server_sock, client_sock = socket.socketpair()
    log = _Log()
    runner = WSGIRunner(_app, log)
    session = Session(
        runner,
        ConnInfo("127.0.0.1", 1, "localhost", "80"),
        Limits(),
        log,
        spool_threshold=64 * 1024,
    )
    thread = threading.Thread(
        target=serve_connection,
        args=(server_sock, session, Watch(), Deadlines(5, 5, 5, 5)),
        kwargs={"closing": lambda: False},
        daemon=True,
    )
    thread.start()
    client_sock.settimeout(10)
    yield Client(client_sock), session, log
    client_sock.close()
    thread.join(10)
    assert not thread.is_alive()


def test_body_is_streamed_to_the_app_as_it_arrives(served):
    client, _, _ = served
    client.send(b"POST /hash HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n")
    data = bytes(range(256)) * 4000
    for i in range(0, len(data), 7777):
        piece = data[i : i + 7777]
        client.send(b"%x\r\n%b\r\n" % (len(piece), piece))
    client.send(b"0\r\n\r\n")
    assert client.response().body == f"{len(data)} {hashlib.sha256(data).hexdigest()}".encode()


def test_100_continue_is_sent_when_the_app_first_reads(served):
    client, _, _ = served
    client.send(
        b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n"
    )
    assert client.sock.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
    client.send(b"abc")
    assert client.response().body == b"abc"


def test_unread_body_is_drained_and_keep_alive_goes_on(served):
    client, session, _ = served
    client.send(
        b"POST /ignore-body HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello"
        b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nok"
    )
    assert client.response().body == b"ignored"
    assert client.response().body == b"ok"
    assert session.requests == 2


def test_unread_body_larger_than_the_drain_budget_closes(served):
    client, _, _ = served
    client.send(b"POST /ignore-body HTTP/1.1\r\nHost: t\r\nContent-Length: 10000000\r\n\r\n")
    client.send(b"x" * 200_000)
    assert client.response().body == b"ignored"
    assert client.at_eof()


def test_readline_iteration(served):
    client, _, _ = served
    client.send(b"POST /lines HTTP/1.1\r\nHost: t\r\nContent-Length: 8\r\n\r\na\nbb\nccc")
    assert client.response().body == repr([b"a\n", b"bb\n", b"ccc"]).encode()


def test_a_body_the_client_ends_early_is_answered_400_then_closed(served):
    # As the buffering (event-loop) workers answer it: the client ended only its side.
    client, _, log = served
    client.send(b"POST /hash HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\npartial")
    client.sock.shutdown(socket.SHUT_WR)
    resp = client.response()
    assert resp.status == 400 and resp.closes
    assert client.at_eof()
    assert not [line for line in log.lines if "Traceback" in line]


def test_requests_without_a_body_keep_the_connection_alive(served):
    # The end of a body-less message was never taken from the connection, so the next
    # cycle could not start and the driver died with a LocalProtocolError.
    client, _, log = served
    client.send(b"GET /a HTTP/1.1\r\nHost: t\r\n\r\n")
    assert client.response().body == b"GET /a 0"
    client.send(b"GET /b HTTP/1.1\r\nHost: t\r\n\r\nHEAD /c HTTP/1.1\r\nHost: t\r\n\r\n")
    assert client.response().body == b"GET /b 0"
    resp = client.response(head_only=True)
    assert resp.status == 200 and not resp.closes
    client.send(b"POST /d HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nxyz")
    assert client.response().body == b"POST /d 3"
    assert not [line for line in log.lines if "Error" in line or "error" in line]


def test_no_100_continue_for_a_request_without_a_body(served):
    client, _, _ = served
    client.send(b"GET /e HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n\r\n")
    raw = b""
    while not raw.endswith(b"GET /e 0"):
        piece = client.sock.recv(4096)
        assert piece, raw
        raw += piece
    assert raw.startswith(b"HTTP/1.1 200 OK\r\n"), raw


def test_malformed_body_read_by_the_app_gets_a_400_before_the_close(served):
    # The app reads the body, the chunk framing is broken: nothing was sent yet, so the
    # client is told why (as the buffered mode does) rather than just cut off.
    client, _, _ = served
    client.send(b"POST /x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
    resp = client.response()
    assert resp.status == 400 and resp.closes
    assert client.at_eof()
