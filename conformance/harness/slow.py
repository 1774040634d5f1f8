"""Slow clients and the probe that measures whether anyone else still gets served.

``SlowClients`` holds many connections in one thread, each misbehaving one way:

- ``headers`` (slowloris): sends a request head one byte at a time and never finishes it;
- ``body``: sends a complete head announcing a large body, then the body a byte at a time;
- ``read``: asks for a large response and reads it a few bytes at a time, with a small
  receive buffer, so the server's writes block.

Everything is bounded: a fixed number of connections and a fixed duration.
``probe`` meanwhile sends ordinary requests on fresh connections and times them.
"""

from __future__ import annotations

import selectors
import socket
import threading
import time
from dataclasses import dataclass, field

from corral_testing import read_response

KINDS = ("headers", "body", "read")


@dataclass
class SlowStats:
    kind: str
    opened: int = 0
    connect_failures: int = 0
    closed_by_server: int = 0
    bytes_sent: int = 0
    bytes_read: int = 0

    @property
    def still_open(self) -> int:
        return self.opened - self.closed_by_server


class _Conn:
    __slots__ = ("closed", "pending", "sock")

    def __init__(self, sock: socket.socket, pending: bytes) -> None:
        self.sock = sock
        self.pending = pending
        self.closed = False


class SlowClients:
    """``count`` slow connections of one ``kind`` to ``host:port`` for ``duration`` seconds."""

    def __init__(
        self,
        kind: str,
        host: str,
        port: int,
        count: int,
        duration: float,
        tick: float = 0.5,
        big_size: int = 8 * 1024 * 1024,
    ) -> None:
        if kind not in KINDS:
            raise ValueError(kind)
        self.kind = kind
        self.host = host
        self.port = port
        self.count = count
        self.duration = duration
        self.tick = tick
        self.big_size = big_size
        self.stats = SlowStats(kind)
        self._conns: list[_Conn] = []
        self._thread = threading.Thread(target=self._run, name=f"slow-{kind}", daemon=True)
        self._stop = threading.Event()
        self.opened = threading.Event()

    # What each kind sends first, and what it then dribbles.
    def _script(self, n: int) -> tuple[bytes, bytes]:
        host = b"Host: localhost\r\n"
        if self.kind == "headers":
            head = b"GET /slow-headers HTTP/1.1\r\n" + host
            dribble = b"".join(b"X-Slow-%d: %d\r\n" % (i, n) for i in range(10000))
            return head[:16], head[16:] + dribble
        if self.kind == "body":
            length = 10 * 1024 * 1024
            head = (
                b"POST /upload HTTP/1.1\r\n" + host + b"Content-Type: application/octet-stream\r\n"
                b"Content-Length: %d\r\n\r\n" % length
            )
            return head, b"b" * length
        head = b"GET /big?size=%d HTTP/1.1\r\n" % self.big_size + host + b"\r\n"
        return head, b""

    def _open(self) -> None:
        for n in range(self.count):
            if self._stop.is_set():
                return
            try:
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                if self.kind == "read":
                    # A small window: the server's send buffer fills after a few kB.
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                sock.settimeout(5)
                sock.connect((self.host, self.port))
                first, rest = self._script(n)
                sock.sendall(first)
                sock.setblocking(False)
            except OSError:
                self.stats.connect_failures += 1
                continue
            self.stats.opened += 1
            self.stats.bytes_sent += len(first)
            self._conns.append(_Conn(sock, rest))

    def _step(self, conn: _Conn) -> None:
        try:
            if self.kind == "read":
                data = conn.sock.recv(16)
                if data == b"":
                    raise ConnectionResetError
                self.stats.bytes_read += len(data)
                return
            # Did the server give up on us (an error response, or a close)?
            try:
                data = conn.sock.recv(4096)
                if data == b"":
                    raise ConnectionResetError
                self.stats.bytes_read += len(data)
            except BlockingIOError:
                pass
            if conn.pending:
                sent = conn.sock.send(conn.pending[:1])
                conn.pending = conn.pending[sent:]
                self.stats.bytes_sent += sent
        except BlockingIOError:
            pass
        except OSError:
            conn.closed = True
            self.stats.closed_by_server += 1

    def _run(self) -> None:
        began = time.monotonic()
        try:
            self._open()
        finally:
            self.opened.set()
        deadline = began + self.duration
        while not self._stop.is_set() and time.monotonic() < deadline:
            for conn in self._conns:
                if not conn.closed:
                    self._step(conn)
            self._stop.wait(self.tick)

    def start(self) -> SlowClients:
        self._thread.start()
        if not self.opened.wait(60):
            raise TimeoutError("slow clients could not open their connections in 60 s")
        return self

    def stop(self) -> SlowStats:
        self._stop.set()
        self._thread.join(10)
        # A last look: which connections has the server closed by now?
        sel = selectors.DefaultSelector()
        for conn in self._conns:
            if not conn.closed:
                sel.register(conn.sock, selectors.EVENT_READ, conn)
        for key, _ in sel.select(0):
            conn = key.data
            try:
                if conn.sock.recv(65536) == b"":
                    conn.closed = True
                    self.stats.closed_by_server += 1
            except BlockingIOError:
                pass
            except OSError:
                conn.closed = True
                self.stats.closed_by_server += 1
        sel.close()
        for conn in self._conns:
            conn.sock.close()
        return self.stats


@dataclass
class ProbeResult:
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.latencies) + len(self.failures)

    @property
    def worst(self) -> float:
        return max(self.latencies, default=0.0)

    def slower_than(self, limit: float) -> int:
        return sum(1 for s in self.latencies if s >= limit)

    def summary(self, limit: float = 1.0) -> str:
        if not self.latencies:
            return f"0/{self.count} probes answered"
        ok = len(self.latencies)
        return (
            f"{ok}/{self.count} probes ok, worst {self.worst * 1000:.0f} ms, "
            f"{self.slower_than(limit)} >= {limit:g} s"
        )


def probe(
    host: str,
    port: int,
    duration: float,
    interval: float = 0.2,
    path: str = "/probe",
    timeout: float = 5.0,
    ssl_context: object = None,
) -> ProbeResult:
    """GET ``path`` on a fresh connection every ``interval`` seconds for ``duration``."""
    result = ProbeResult()
    deadline = time.monotonic() + duration
    raw = f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode()
    while time.monotonic() < deadline:
        began = time.monotonic()
        try:
            with socket.create_connection((host, port), timeout=timeout) as sock:
                sock.sendall(raw)
                resp = read_response(sock)
            elapsed = time.monotonic() - began
            if resp.status == 200:
                result.latencies.append(elapsed)
            else:
                result.failures.append(f"status {resp.status} after {elapsed:.2f}s")
        except (OSError, ConnectionError, ValueError) as exc:
            result.failures.append(f"{type(exc).__name__}: {exc}")
        pause = interval - (time.monotonic() - began)
        if pause > 0:
            time.sleep(pause)
    return result
