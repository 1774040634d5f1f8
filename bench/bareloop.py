"""The ceiling: the least a Python epoll loop can do per keep-alive request.

    python bench/bareloop.py PORT canned   # read, reply with fixed bytes (no parsing)
    python bench/bareloop.py PORT wsgi     # httptools parse + a minimal WSGI call

No server can beat ``canned`` with its loop in Python: it is one ``recv`` and one ``send``
per request and nothing else. ``wsgi`` adds what the least a WSGI server must do: parse the
head with httptools, build a small environ, call ``bench/apps.py``'s application, frame
its reply. Neither handles errors, partial writes, deadlines or pipelining correctly; they
are yardsticks, not servers. Used by ``bench/run.py``; single process, one core.
"""

from __future__ import annotations

import select
import socket
import sys
from typing import Any

import httptools

sys.path.insert(0, __import__("os").path.dirname(__file__))
from apps import app

CANNED = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n"
    b"Date: Thu, 01 Jan 2026 00:00:00 GMT\r\nServer: bare\r\n\r\nHello, World!"
)


class _Wsgi:
    """Per-connection httptools callbacks; ``done`` collects what must be answered."""

    __slots__ = ("done", "headers", "parser", "url")

    def __init__(self) -> None:
        self.parser = httptools.HttpRequestParser(self)
        self.url = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.done: list[bytes] = []

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_message_complete(self) -> None:
        path, _, query = self.url.partition(b"?")
        environ: dict[str, Any] = {
            "REQUEST_METHOD": self.parser.get_method().decode(),
            "PATH_INFO": path.decode("latin-1"),
            "QUERY_STRING": query.decode("latin-1"),
            "SERVER_PROTOCOL": "HTTP/1.1",
            "wsgi.input": None,
        }
        for name, value in self.headers:
            environ["HTTP_" + name.decode("latin-1").upper().replace("-", "_")] = value.decode(
                "latin-1"
            )
        status_headers: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc: Any = None) -> None:
            status_headers[:] = [status, headers]

        body = b"".join(app(environ, start_response))
        status, headers = status_headers
        head = [f"HTTP/1.1 {status}\r\n"]
        head += [f"{k}: {v}\r\n" for k, v in headers]
        head.append("Server: bare\r\n\r\n")
        self.done.append("".join(head).encode("latin-1") + body)
        self.url = b""
        self.headers = []


def serve(port: int, mode: str) -> None:
    lsock = socket.socket()
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", port))
    lsock.listen(1024)
    lsock.setblocking(False)
    ep = select.epoll()
    lfd = lsock.fileno()
    ep.register(lfd, select.EPOLLIN)
    socks: dict[int, socket.socket] = {}
    states: dict[int, _Wsgi] = {}
    canned = mode == "canned"
    while True:
        for fd, _ in ep.poll():
            if fd == lfd:
                while True:
                    try:
                        conn, _addr = lsock.accept()
                    except BlockingIOError:
                        break
                    conn.setblocking(False)
                    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    socks[conn.fileno()] = conn
                    if not canned:
                        states[conn.fileno()] = _Wsgi()
                    ep.register(conn.fileno(), select.EPOLLIN)
                continue
            conn = socks[fd]
            try:
                data = conn.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:
                ep.unregister(fd)
                del socks[fd]
                states.pop(fd, None)
                conn.close()
                continue
            if canned:
                conn.send(CANNED * data.count(b"\r\n\r\n"))
            else:
                state = states[fd]
                state.parser.feed_data(data)
                if state.done:
                    conn.send(b"".join(state.done))
                    state.done.clear()


if __name__ == "__main__":
    serve(int(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "canned")
