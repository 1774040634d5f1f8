"""Test support shared by every package's tests: run the real ``corral``, talk raw HTTP.

``CorralProcess`` starts the real command on a random port (``-b 127.0.0.1:0``) and learns
the address from its "Listening at:" log line. ``http`` has a minimal raw-socket client
that parses responses byte-exactly, so tests see what a client would see.
"""

from .http import Client, Response, drain, read_response, request, slow_reader, upload
from .process import FIXTURE_APPS, CorralProcess, rss_kib, stop_all

__all__ = [
    "FIXTURE_APPS",
    "Client",
    "CorralProcess",
    "Response",
    "drain",
    "get_body",
    "read_response",
    "request",
    "rss_kib",
    "slow_reader",
    "stop_all",
    "until",
    "upload",
    "worker_classes",
]


def worker_classes() -> list[str]:
    """Every worker class installed in the ``corral.workers`` group (all of them in CI,
    where every workspace package is installed): black-box suites run once per class."""
    from importlib.metadata import entry_points

    return sorted(ep.name for ep in entry_points(group="corral.workers"))


def until(predicate: object, timeout: float, what: str, interval: float = 0.05) -> None:
    """Wait until ``predicate()`` holds, checking every ``interval`` seconds; fail the test
    naming ``what`` after ``timeout`` seconds (a bound on progress, not a timing claim)."""
    import time

    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(interval)


def get_body(host: str, port: int, path: str, timeout: float = 10.0) -> bytes:
    """``GET path`` on a new connection (``Connection: close``); the response body."""
    raw = f"GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".encode()
    return request(host, port, raw, timeout).body
