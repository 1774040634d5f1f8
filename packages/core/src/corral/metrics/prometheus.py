"""Prometheus metrics of every process, in prometheus-client's multiprocess mode.

Each process (the master and every worker) writes its own numbers into memory-mapped files
of one directory (``PROMETHEUS_MULTIPROC_DIR``); the exporter process (corral.metrics.exporter)
reads them all at each scrape and adds them up. Counters and the histogram of a worker that
is gone still count (its files stay: a restart loses no request); its live gauges (requests
in flight, keep-alive connections) are deleted when the master reaps it.

The directory is made at start (and removed at exit) unless ``PROMETHEUS_MULTIPROC_DIR`` is
already set by the user, whose application may write its own metrics there; then corral
writes there too, serves theirs with its own, and leaves the directory in place. It must be
set before ``prometheus_client`` is first imported (``--preload`` may import it), so it is
done before the application is loaded.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Any

from ..errors import ConfigError

ENV = "PROMETHEUS_MULTIPROC_DIR"
_OURS = "CORRAL_METRICS_DIR"  # the directory this corral made (a USR2 master makes its own)

METHODS = frozenset(
    ("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE")
)
CAUSES = ("timeout", "max-requests", "reload", "crash")
_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class Directory:
    """The multiprocess directory: ``owned`` when corral made it (and removes it)."""

    def __init__(self) -> None:
        given = os.environ.get(ENV)
        try:
            if given and given != os.environ.get(_OURS):
                self.path, self.owned = given, False
                os.makedirs(given, exist_ok=True)
                if not os.access(given, os.W_OK | os.X_OK):
                    raise PermissionError(13, "not writable")
            else:
                self.path, self.owned = tempfile.mkdtemp(prefix="corral-metrics-"), True
                os.environ[ENV] = os.environ[_OURS] = self.path
        except OSError as exc:
            where = f"{ENV} '{given}'" if given else "a temporary folder for the metrics"
            raise ConfigError(f"--metrics-bind: cannot use {where}: {exc.strerror}") from None
        _multiprocess_values()

    def remove(self) -> None:
        if self.owned:
            shutil.rmtree(self.path, ignore_errors=True)
            for name in (ENV, _OURS):
                if os.environ.get(name) == self.path:
                    del os.environ[name]


def _multiprocess_values() -> None:
    """prometheus_client picks where its values live (this process's memory, or the files
    of ``PROMETHEUS_MULTIPROC_DIR``) when it is first imported. A config file, a logger
    class or an embedding program may have imported it before the directory was set: make
    it choose again, now, so corral's metrics (and the application's) reach the files."""
    import sys

    values: Any = sys.modules.get("prometheus_client.values")
    if values is not None:
        values.ValueClass = values.get_value_class()


class Instruments:
    """corral's metrics. Created in the master; each process writes its own files."""

    def __init__(self, directory: Directory) -> None:
        from prometheus_client import Counter, Gauge, Histogram

        self.directory = directory
        self.requests = Counter(
            "corral_requests",
            "Requests answered by the application, by status class and method.",
            ("status", "method"),
            registry=None,
        )
        self.duration = Histogram(
            "corral_request_duration_seconds",
            "Time from a request's head to the end of its response.",
            buckets=_BUCKETS,
            registry=None,
        )
        self.in_flight = Gauge(
            "corral_requests_in_flight",
            "Requests the application is answering now.",
            multiprocess_mode="livesum",
            registry=None,
        )
        self.keepalive = Gauge(
            "corral_keepalive_connections",
            "Open connections between two requests (kept alive), counted at each heartbeat.",
            multiprocess_mode="livesum",
            registry=None,
        )
        self.workers = Gauge(
            "corral_workers",
            "Worker processes serving (not retiring).",
            multiprocess_mode="livemax",
            registry=None,
        )
        self.backlog = Gauge(
            "corral_listen_backlog",
            "Connections waiting in the listening sockets' queues (--enable-backlog-metric).",
            multiprocess_mode="livemax",
            registry=None,
        )
        self.restarts = Counter(
            "corral_worker_restarts",
            "Workers the master replaced, by cause: timeout, max-requests, reload, crash.",
            ("cause",),
            registry=None,
        )
        self._restarts = {cause: self.restarts.labels(cause=cause) for cause in CAUSES}

    # ------------------------------------------------------------- the master

    def worker_count(self, count: int) -> None:
        self.workers.set(count)

    def worker_exited(self, pid: int, cause: str) -> None:
        from prometheus_client import multiprocess

        if cause:
            self._restarts[cause].inc()
        multiprocess.mark_process_dead(pid, self.directory.path)  # type: ignore[no-untyped-call]

    # ----------------------------------------------------------- in a worker

    def recorder(self) -> Recorder:
        return Recorder(self)


class Recorder:
    """One worker's side: called for every request, and at each heartbeat."""

    __slots__ = ("_by_key", "_dec", "_inc", "_instruments", "_observe", "_set_keepalive")

    def __init__(self, instruments: Instruments) -> None:
        self._instruments = instruments
        self._by_key: dict[tuple[str, int], Any] = {}  # (method, status class) -> counter
        self._inc = instruments.in_flight.inc
        self._dec = instruments.in_flight.dec
        self._observe = instruments.duration.observe
        self._set_keepalive = instruments.keepalive.set

    def request_begun(self) -> None:
        self._inc()

    def request_done(self, method: str, status: int, seconds: float) -> None:
        self._dec()
        self._observe(seconds)
        key = (method if method in METHODS else "other", status // 100)
        counter = self._by_key.get(key)
        if counter is None:
            counter = self._by_key[key] = self._instruments.requests.labels(
                status=f"{key[1]}xx", method=key[0]
            )
        counter.inc()

    def connections(self, keepalive: int) -> None:
        self._set_keepalive(keepalive)
