"""The blocking driver with a streaming session, over a real socket pair and a thread."""

from __future__ import annotations

import hashlib
import socket
import threading

import pytest
from corral.blocking import serve_connection
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
    else:
        body = inp.read()
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
        args=(server_sock, session),
        kwargs={"keepalive": 5, "timeout": 5, "alive": lambda: True},
        daemon=True,
    )
    thread.start()
    client_sock.settimeout(10)
    yield Client(client_sock), session
    client_sock.close()
    thread.join(10)
    assert not thread.is_alive()


def test_body_is_streamed_to_the_app_as_it_arrives(served):
    client, _ = served
    client.send(b"POST /hash HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n")
    data = bytes(range(256)) * 4000
    for i in range(0, len(data), 7777):
        piece = data[i : i + 7777]
        client.send(b"%x\r\n%b\r\n" % (len(piece), piece))
    client.send(b"0\r\n\r\n")
    assert client.response().body == f"{len(data)} {hashlib.sha256(data).hexdigest()}".encode()


def test_100_continue_is_sent_when_the_app_first_reads(served):
    client, _ = served
    client.send(
        b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n"
    )
    assert client.sock.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
    client.send(b"abc")
    assert client.response().body == b"abc"


def test_unread_body_is_drained_and_keep_alive_goes_on(served):
    client, session = served
    client.send(
        b"POST /ignore-body HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello"
        b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nok"
    )
    assert client.response().body == b"ignored"
    assert client.response().body == b"ok"
    assert session.requests == 2


def test_unread_body_larger_than_the_drain_budget_closes(served):
    client, _ = served
    client.send(b"POST /ignore-body HTTP/1.1\r\nHost: t\r\nContent-Length: 10000000\r\n\r\n")
    client.send(b"x" * 200_000)
    assert client.response().body == b"ignored"
    assert client.at_eof()


def test_readline_iteration(served):
    client, _ = served
    client.send(b"POST /lines HTTP/1.1\r\nHost: t\r\nContent-Length: 8\r\n\r\na\nbb\nccc")
    assert client.response().body == repr([b"a\n", b"bb\n", b"ccc"]).encode()


def test_client_gone_mid_body_ends_quietly(served):
    client, _ = served
    client.send(b"POST /hash HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\npartial")
    client.sock.shutdown(socket.SHUT_WR)
    assert client.at_eof()
