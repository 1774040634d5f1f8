"""Session in streaming body mode (``recv=``), driven by serve_connection over a socket pair.

Each test is a regression test for a bug found while building the gevent and eventlet
workers, which are the users of this mode.
"""

from __future__ import annotations

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
    body = environ["wsgi.input"].read()
    out = f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']} {len(body)}".encode()
    start_response("200 OK", [("Content-Length", str(len(out)))])
    return [out]


@pytest.fixture
def served():
    server_sock, client_sock = socket.socketpair()
    log = _Log()
    session = Session(WSGIRunner(_app, log), ConnInfo("127.0.0.1", 1, "h", "80"), Limits(), log)
    thread = threading.Thread(
        target=serve_connection,
        args=(server_sock, session),
        kwargs={"keepalive": 5, "timeout": 5, "alive": lambda: True},
        daemon=True,
    )
    thread.start()
    client_sock.settimeout(10)
    yield Client(client_sock), log
    client_sock.close()
    thread.join(10)
    assert not thread.is_alive()


def test_requests_without_a_body_keep_the_connection_alive(served):
    # The end of a body-less message was never taken from the connection, so the next
    # cycle could not start and the driver died with a LocalProtocolError.
    client, log = served
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
    client, _ = served
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
    client, _ = served
    client.send(b"POST /x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
    resp = client.response()
    assert resp.status == 400 and resp.closes
    assert client.at_eof()
