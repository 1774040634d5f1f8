"""Metrics: StatsD as Gunicorn sends it (``--statsd-host``) and a Prometheus endpoint
(``--metrics-bind``), each optional, both fed from the same few places:

* a finished request, in :meth:`corral.wsgi.WSGIRunner.run` (where the access log is
  written), so every worker class is counted by the same line;
* the open keep-alive connections, at each worker heartbeat (:meth:`BaseWorker.notify`);
* the number of workers and why one ended (timeout, max-requests, reload, crash), in the
  arbiter, which alone knows.

With neither setting there is no :class:`Metrics` at all: the request path tests one
``None`` and does nothing else. :func:`open_metrics` runs in the master before the
application is loaded (the Prometheus directory must exist before anything imports
prometheus-client); every check that can fail is done there, as one line.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import struct
import sys
import time
from typing import Any, Protocol

from ..errors import BindError, UsageError
from ..heartbeat import RETIRE_CAUSES
from ..logs import keep_on_error_log, release_from_error_log
from .statsd import BACKLOG

_RESPAWN_PAUSE = 1.0  # seconds between two starts of the exporter process
EXEC_ENV = "CORRAL_METRICS_FD"  # USR2: "FD ADDRESS" of the endpoint's socket, for the new master


class Recorder(Protocol):
    """What a worker's request path calls (one object, whatever is enabled)."""

    def request_begun(self) -> None: ...
    def request_done(self, method: str, status: int, seconds: float) -> None: ...
    def connections(self, keepalive: int) -> None: ...


SETTINGS = (
    "statsd_host",
    "statsd_prefix",
    "dogstatsd_tags",
    "metrics_bind",
    "enable_backlog_metric",
)
_TCP_INFO = struct.Struct("8B24I")  # struct tcp_info's head (linux/tcp.h); [12]: tcpi_unacked


def reload_warning(old: Any, new: Any) -> str | None:
    """HUP: the metrics settings are the start's; say so when the new ones differ."""
    changed = [name for name in SETTINGS if getattr(old, name) != getattr(new, name)]
    if not changed:
        return None
    flags = ", ".join("--" + name.replace("_", "-") for name in changed)
    return f"{flags} cannot change on a reload: restart corral (or USR2) to change them"


def check(cfg: Any) -> None:
    """A start-up check (also ``--check-config``): the libraries the settings need."""
    if cfg.metrics_bind and importlib.util.find_spec("prometheus_client") is None:
        raise UsageError(
            "--metrics-bind needs the prometheus-client package: pip install 'corral[metrics]'"
        )


def open_metrics(cfg: Any) -> Metrics | None:
    """The metrics the settings ask for, their sockets open; None when none is asked."""
    if not cfg.statsd_host and not cfg.metrics_bind:
        return None
    check(cfg)
    metrics = Metrics()
    metrics.backlog = bool(cfg.enable_backlog_metric) and sys.platform == "linux"
    try:
        if cfg.statsd_host:
            from .statsd import Statsd

            metrics.statsd = Statsd.from_cfg(cfg)
        if cfg.metrics_bind:
            metrics.open_endpoint(str(cfg.metrics_bind))
    except BaseException:
        metrics.close()
        raise
    return metrics


class Metrics:
    """The master's handle on the metrics; workers get their :meth:`recorder`."""

    def __init__(self) -> None:
        self.statsd: Any = None  # corral.metrics.statsd.Statsd
        self.instruments: Any = None  # corral.metrics.prometheus.Instruments
        self.listener: Any = None  # corral.sockets.Listener of --metrics-bind
        self.exporter_pid = 0
        self._exporter_started = 0.0
        self._workers = -1  # the count last reported
        self._log_counter: Any = None
        self.backlog = False  # --enable-backlog-metric

    def open_endpoint(self, address: str) -> None:
        from ..sockets import Listener, bind_all
        from .prometheus import Directory, Instruments

        # USR2: the old master's socket, when the address stays (both serve until it goes).
        fd, _, old = os.environ.pop(EXEC_ENV, "").partition(" ")
        inherited = {}
        if fd.isdigit():
            sock = socket.socket(fileno=int(fd))
            kind = "unix" if sock.family == socket.AF_UNIX else "tcp"
            inherited[old] = Listener(sock, old, kind)
        try:
            (self.listener,) = bind_all([address], 64, inherited)
        except BindError as exc:
            raise BindError(f"--metrics-bind: {exc.message}") from None
        self.listener.sock.set_inheritable(False)
        self.instruments = Instruments(Directory())

    def environ_for_exec(self) -> dict[str, str]:
        """USR2, in the child about to exec the new master: the endpoint's socket stays
        open for it (it gets its own multiprocess directory: see prometheus.Directory)."""
        if self.listener is None:
            return {}
        self.listener.sock.set_inheritable(True)
        return {EXEC_ENV: f"{self.listener.sock.fileno()} {self.listener.bind}"}

    def owned_paths(self) -> list[str]:
        """What the workers write after --user/--group: the directory corral made."""
        directory = self.instruments.directory if self.instruments is not None else None
        return [directory.path] if directory is not None and directory.owned else []

    @property
    def url(self) -> str:
        """Where to scrape (a unix socket: its path; the endpoint is GET /metrics)."""
        where = str(self.listener.url_for(False))
        return where if self.listener.kind == "unix" else f"{where}/metrics"

    # ------------------------------------------------------------ the master

    def start(self, log: Any, leave_master: Any) -> None:
        """The master is ready to fork: count log lines, start the exporter process."""
        if self.statsd is not None and self._log_counter is None:
            from .statsd import LogCounter

            self._log_counter = LogCounter(self.statsd)
            # Kept there across a HUP's logging configuration, which drops other handlers.
            keep_on_error_log(self._log_counter)
        self._leave_master = leave_master
        self._log = log
        if self.listener is not None:
            self._start_exporter()

    def _start_exporter(self) -> None:
        from .exporter import start

        self._exporter_started = time.monotonic()
        self.exporter_pid = start(
            self.listener.sock, self.instruments.directory.path, self._leave_master
        )
        self._log.info("Metrics at: %s (%s)", self.url, self.exporter_pid)

    def tick(self, workers: int, listeners: list[Any]) -> None:
        """Once per loop of the master: the worker count, the listening sockets' queues
        (--enable-backlog-metric), and the exporter kept alive."""
        if self.backlog:
            waiting = backlog(listeners)
            if self.statsd is not None:
                self.statsd.histogram(BACKLOG, waiting)
            if self.instruments is not None:
                self.instruments.backlog.set(waiting)
        if workers != self._workers:
            self._workers = workers
            if self.statsd is not None:
                self.statsd.workers(workers)
            if self.instruments is not None:
                self.instruments.worker_count(workers)
        if (
            self.listener is not None
            and not self.exporter_pid
            and time.monotonic() - self._exporter_started >= _RESPAWN_PAUSE
        ):
            self._start_exporter()

    def reaped(self, pid: int, stopping: bool = False) -> bool:
        """``pid`` ended: was it the exporter? (The next :meth:`tick` starts another.) While
        the master stops, a signal to the whole process group ends it too: no warning."""
        if pid and pid == self.exporter_pid:
            self.exporter_pid = 0
            if not stopping:
                self._log.warning("The metrics endpoint's process (pid:%s) exited", pid)
            return True
        return False

    def worker_exited(self, pid: int, cause: str) -> None:
        """A worker ended; ``cause`` is why, if it was replaced (else empty)."""
        if self.instruments is not None:
            self.instruments.worker_exited(pid, cause)

    def close(self, unlink: bool = True) -> None:
        """At the master's exit: stop the exporter, remove the files and sockets (not a
        unix socket's file that another master serves on: ``unlink`` false)."""
        pid, self.exporter_pid = self.exporter_pid, 0
        if pid:
            try:
                os.kill(pid, signal.SIGTERM)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
        if self.listener is not None:
            self.listener.close(unlink=unlink)
            self.listener = None
        if self.instruments is not None:
            self.instruments.directory.remove()
            self.instruments = None
        if self._log_counter is not None:
            release_from_error_log(self._log_counter)
            self._log_counter.close()
            self._log_counter = None
        if self.statsd is not None:
            self.statsd.close()
            self.statsd = None

    # ------------------------------------------------------------ in a worker

    def recorder(self) -> Recorder:
        """In a worker, after the fork: what its requests report to."""
        recorders = [r for r in (self.statsd, self.instruments) if r is not None]
        if len(recorders) == 1 and self.instruments is None:
            return _StatsdOnly(self.statsd)
        if len(recorders) == 1:
            recorder: Recorder = self.instruments.recorder()
            return recorder
        return _Both(self.statsd, self.instruments.recorder())


class _StatsdOnly:
    __slots__ = ("request_done",)

    def __init__(self, statsd: Any) -> None:
        self.request_done = statsd.request_done

    def request_begun(self) -> None:
        pass

    def connections(self, keepalive: int) -> None:
        pass


class _Both:
    __slots__ = ("_prometheus", "_statsd")

    def __init__(self, statsd: Any, prometheus: Recorder) -> None:
        self._statsd = statsd
        self._prometheus = prometheus

    def request_begun(self) -> None:
        self._prometheus.request_begun()

    def request_done(self, method: str, status: int, seconds: float) -> None:
        self._statsd.request_done(method, status, seconds)
        self._prometheus.request_done(method, status, seconds)

    def connections(self, keepalive: int) -> None:
        self._prometheus.connections(keepalive)


def backlog(listeners: list[Any]) -> int:
    """Connections the kernel has accepted on the TCP ``listeners`` and no worker has yet
    (Linux: a listening socket's ``tcpi_unacked`` is its accept queue's length)."""
    total = 0
    for listener in listeners:
        if listener.kind != "tcp":
            continue
        try:
            info = listener.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, _TCP_INFO.size)
            total += _TCP_INFO.unpack(info[: _TCP_INFO.size].ljust(_TCP_INFO.size, b"\0"))[12]
        except OSError:
            pass
    return total


def exit_cause(status: int, aborted: float, own: float, retiring: bool, stopping: bool) -> str:
    """Why a worker that ended is being replaced: ``timeout`` (``aborted``: when the
    master aborted it),
    ``max-requests`` or ``reload`` (``own``: it retired on its own, and exited cleanly),
    ``crash`` (it ended without being asked, or not cleanly), or ``""``: the master asked
    it to go (``retiring``: TTOU, HUP) and it did, or the whole server stops."""
    if stopping:
        return ""
    if aborted:
        return "timeout"
    clean = os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    if clean and own:
        return RETIRE_CAUSES.get(own, "")
    if clean and retiring:
        return ""
    return "crash"
