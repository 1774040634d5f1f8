"""Request loops that count every request a client lost while the server changes workers.

:class:`RequestLoops` runs client threads against a running server, each sending
``GET /pid`` (the fixture apps answer with the worker's pid) in a loop, on a fresh
connection per request or on one keep-alive connection per thread, until stopped or
until its bounds (seconds, requests) run out. A request counts as *failed* when its
response is not a complete 200: a reset, an end of file before the response, a timeout,
another status. A keep-alive connection the server closes after a response that said
``Connection: close`` is not a failure: the thread opens a new one, as a client must.
One closed *without* saying so, before the next request's response, is a failure: it is
what a client sees as a lost request (wrk's "read error").
"""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from .http import Client


@dataclass
class Tally:
    sent: int = 0
    failed: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)
    pids: set[int] = field(default_factory=set)

    def summary(self) -> str:
        kinds = ", ".join(f"{k}: {n}" for k, n in self.kinds.most_common()) or "none"
        return (
            f"sent {self.sent}, failed {self.failed} ({kinds}), worker pids seen {len(self.pids)}"
        )


def _kind(exc: BaseException) -> str:
    if isinstance(exc, ConnectionResetError):
        return "reset"
    if isinstance(exc, ConnectionRefusedError):
        return "refused"
    if isinstance(exc, TimeoutError):
        return "timeout"
    if isinstance(exc, ConnectionError):
        return "closed without a response"
    return type(exc).__name__


class RequestLoops:
    """``threads`` client threads sending ``GET path`` to ``host:port``."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        threads: int = 8,
        keepalive: bool = False,
        path: str = "/pid",
        max_seconds: float = 120.0,
        max_requests: int = 1_000_000,
        timeout: float = 30.0,
    ) -> None:
        self.addr = (host, port)
        self.keepalive = keepalive
        self.path = path
        self.max_seconds = max_seconds
        self.max_requests = max_requests
        self.timeout = timeout
        self.tally = Tally()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def __enter__(self) -> RequestLoops:
        self._started = time.monotonic()
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> Tally:
        self._stop.set()
        for thread in self._threads:
            thread.join(self.timeout + 5)
        return self.tally

    def wait_for(self, condition: object, timeout: float) -> bool:
        """Wait until ``condition(tally)`` holds (checked as responses arrive)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if condition(self.tally):  # type: ignore[operator]
                    return True
            if self._stop.is_set():
                return False
            time.sleep(0.02)
        return False

    # ------------------------------------------------------------ a thread

    def _record(self, pid: int | None, failure: str | None = None) -> None:
        with self._lock:
            tally = self.tally
            tally.sent += 1
            if failure is None:
                assert pid is not None
                tally.pids.add(pid)
                return
            tally.failed += 1
            tally.kinds[failure.split(":")[0]] += 1
            if len(tally.examples) < 10:
                tally.examples.append(failure)

    def _done(self) -> bool:
        if self._stop.is_set() or time.monotonic() - self._started > self.max_seconds:
            return True
        with self._lock:
            return self.tally.sent >= self.max_requests

    def _run(self) -> None:
        raw = f"GET {self.path} HTTP/1.1\r\nHost: churn\r\n\r\n".encode()
        client: Client | None = None
        while not self._done():
            try:
                if client is None:
                    sock = socket.create_connection(self.addr, timeout=self.timeout)
                    client = Client(sock)
                client.send(raw)
                resp = client.response()
            except OSError as exc:
                self._record(None, f"{_kind(exc)}: {exc}")
                if client is not None:
                    client.sock.close()
                client = None
                continue
            if resp.status != 200:
                self._record(None, f"status {resp.status}: {resp.body[:80]!r}")
            else:
                self._record(int(resp.body) if resp.body.isdigit() else 0)
            if resp.closes or not self.keepalive:
                client.sock.close()
                client = None
        if client is not None:
            client.sock.close()
