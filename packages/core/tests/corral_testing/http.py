"""A minimal, strict raw-socket HTTP/1.1 client for tests: no library between us and the bytes."""

from __future__ import annotations

import hashlib
import os
import socket
from dataclasses import dataclass, field


@dataclass
class Response:
    status: int
    reason: str
    version: str
    headers: list[tuple[str, str]]
    body: bytes
    raw_head: bytes = b""
    chunked: bool = False
    trailers: list[tuple[str, str]] = field(default_factory=list)

    def header(self, name: str) -> str | None:
        name = name.lower()
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None

    def header_all(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]

    @property
    def closes(self) -> bool:
        return (self.header("connection") or "").lower() == "close"

    def json(self) -> object:
        import json

        return json.loads(self.body)


class _Reader:
    def __init__(self, sock: socket.socket, initial: bytes = b"") -> None:
        self.sock = sock
        self.buf = bytearray(initial)

    def _fill(self) -> bool:
        data = self.sock.recv(65536)
        if not data:
            return False
        self.buf += data
        return True

    def line(self) -> bytes:
        while True:
            idx = self.buf.find(b"\r\n")
            if idx != -1:
                out = bytes(self.buf[:idx])
                del self.buf[: idx + 2]
                return out
            if not self._fill():
                raise ConnectionError(f"connection closed mid-line: {bytes(self.buf)!r}")

    def exact(self, n: int) -> bytes:
        while len(self.buf) < n:
            if not self._fill():
                raise ConnectionError(f"connection closed after {len(self.buf)} of {n} bytes")
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def rest(self) -> bytes:
        while self._fill():
            pass
        out = bytes(self.buf)
        self.buf.clear()
        return out


def read_response(
    sock: socket.socket, head_only: bool = False, _reader: _Reader | None = None
) -> Response:
    """Read exactly one response from ``sock`` (``head_only``: for a HEAD request)."""
    reader = _reader or _Reader(sock)
    while True:
        status_line = reader.line()
        version, code, reason = ([*status_line.decode("latin-1").split(" ", 2), ""])[:3]
        headers: list[tuple[str, str]] = []
        raw = [status_line]
        while True:
            line = reader.line()
            raw.append(line)
            if not line:
                break
            name, _, value = line.decode("latin-1").partition(":")
            headers.append((name, value.strip()))
        if not 100 <= int(code) < 200:
            break
    resp = Response(int(code), reason, version, headers, b"", b"\r\n".join(raw) + b"\r\n")
    status = resp.status
    if head_only or status in (204, 304):
        return resp
    te = (resp.header("transfer-encoding") or "").lower()
    cl = resp.header("content-length")
    if te:
        resp.chunked = True
        body = bytearray()
        while True:
            size = int(reader.line().split(b";")[0], 16)
            if size == 0:
                break
            body += reader.exact(size)
            assert reader.exact(2) == b"\r\n", "chunk not followed by CRLF"
        while True:
            line = reader.line()
            if not line:
                break
            name, _, value = line.decode("latin-1").partition(":")
            resp.trailers.append((name, value.strip()))
        resp.body = bytes(body)
    elif cl is not None:
        resp.body = reader.exact(int(cl))
    else:
        resp.body = reader.rest()
    return resp


class Client:
    """Keeps one reader per socket so pipelined responses are read in order."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.reader = _Reader(sock)

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def response(self, head_only: bool = False) -> Response:
        return read_response(self.sock, head_only, self.reader)

    def at_eof(self, timeout: float = 5.0) -> bool:
        """True if the server closes the connection with nothing more sent."""
        if self.reader.buf:
            return False
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True


def request(host: str, port: int, raw: bytes, timeout: float = 10.0) -> Response:
    """Send ``raw`` on a new connection and read one response."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(raw)
        return read_response(sock)


def upload(sock: socket.socket, size: int, path: str = "/upload") -> tuple[Response, str]:
    """POST ``size`` random bytes (a multiple of 1 MiB) to ``path`` on ``sock``, one MiB at a
    time: (the response, the body's SHA-256 hex digest)."""
    block = os.urandom(1 << 20)
    digest = hashlib.sha256()
    sock.sendall(f"POST {path} HTTP/1.1\r\nHost: t\r\nContent-Length: {size}\r\n\r\n".encode())
    for _ in range(size >> 20):
        sock.sendall(block)
        digest.update(block)
    return read_response(sock), digest.hexdigest()


def slow_reader(host: str, port: int, raw: bytes, rcvbuf: int = 4096) -> socket.socket:
    """A connection with a small receive window that sends ``raw`` and reads nothing yet:
    the server's writes to it back up."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.connect((host, port))
    sock.sendall(raw)
    return sock


def drain(sock: socket.socket, timeout: float) -> int:
    """Read ``sock`` until the server closes it (or resets it): how many bytes came."""
    sock.settimeout(timeout)
    received = 0
    try:
        while piece := sock.recv(1 << 20):
            received += len(piece)
    except ConnectionResetError:
        pass
    return received
