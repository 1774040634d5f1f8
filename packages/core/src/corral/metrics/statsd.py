"""StatsD metrics as Gunicorn sends them (``--statsd-host``, ``--statsd-prefix``,
``--dogstatsd-tags``): the same names, types and datagram format, so a Gunicorn dashboard
reads corral's numbers unchanged.

One datagram per metric, ``PREFIX NAME:VALUE|TYPE`` (counters add ``|@1.0``, Gunicorn's
sampling rate) and, with tags, ``|#TAGS``. The socket is opened and connected once, in the
master, before any worker is forked: every process sends on its copy. It is non-blocking:
a metric the socket cannot take now (a unix socket whose reader is behind) is dropped, as
one the network loses would be, rather than stall a worker.
"""

from __future__ import annotations

import logging
import socket
from typing import Any

from ..config.validators import statsd_target
from ..errors import ConfigError

# Gunicorn's names.
REQUESTS = "gunicorn.requests"
DURATION = "gunicorn.request.duration"
STATUS = "gunicorn.request.status."
WORKERS = "gunicorn.workers"
BACKLOG = "gunicorn.backlog"
_LOG_COUNTERS = {
    logging.WARNING: "gunicorn.log.warning",
    logging.ERROR: "gunicorn.log.error",
    logging.CRITICAL: "gunicorn.log.critical",
}
_LOG_EXCEPTION = "gunicorn.log.exception"


def _prefix(text: str) -> str:
    """Gunicorn's rule: a non-empty prefix ends with exactly one dot."""
    text = text.rstrip(".")
    return f"{text}." if text else ""


def connect(address: str) -> socket.socket:
    """A datagram socket connected to ``address``; ConfigError if it cannot be."""
    target = statsd_target(address)
    try:
        if target.kind == "unix":
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            where: Any = target.path
        else:
            family, _, _, _, where = socket.getaddrinfo(
                target.host, target.port, socket.AF_UNSPEC, socket.SOCK_DGRAM
            )[0]
            sock = socket.socket(family, socket.SOCK_DGRAM)
    except socket.gaierror as exc:
        raise ConfigError(
            f"--statsd-host: cannot resolve '{target.host}' ({exc.strerror})"
        ) from None
    try:
        sock.connect(where)
    except OSError as exc:
        sock.close()
        raise ConfigError(f"--statsd-host: cannot reach '{address}' ({exc.strerror})") from None
    sock.setblocking(False)
    return sock


class Statsd:
    """Sends Gunicorn's metrics to one StatsD server."""

    def __init__(self, sock: socket.socket, prefix: str = "", tags: str = "") -> None:
        self.sock = sock
        self.prefix = _prefix(prefix)
        self._suffix = f"|#{tags}".encode("ascii") if tags else b""
        self._send = sock.send
        # Per request: the same three datagrams, built from cached pieces.
        self._requests = self._datagram(f"{REQUESTS}:1|c|@1.0")
        self._duration = f"{self.prefix}{DURATION}:".encode("ascii")
        self._timer_suffix = b"|ms" + self._suffix
        self._status: dict[int, bytes] = {}

    @classmethod
    def from_cfg(cls, cfg: object) -> Statsd:
        return cls(
            connect(str(cfg.statsd_host)),  # type: ignore[attr-defined]
            str(cfg.statsd_prefix or ""),  # type: ignore[attr-defined]
            str(cfg.dogstatsd_tags or ""),  # type: ignore[attr-defined]
        )

    def _datagram(self, body: str) -> bytes:
        return f"{self.prefix}{body}".encode("ascii") + self._suffix

    def _put(self, data: bytes) -> None:
        try:
            self._send(data)
        except OSError:
            pass  # no server listening, its queue full...: the metric is lost, never the worker

    # ------------------------------------------------------------ what is sent

    def increment(self, name: str, value: int = 1) -> None:
        self._put(self._datagram(f"{name}:{value}|c|@1.0"))

    def gauge(self, name: str, value: float) -> None:
        self._put(self._datagram(f"{name}:{value}|g"))

    def histogram(self, name: str, value: float) -> None:
        self._put(self._datagram(f"{name}:{value}|h"))

    def request_done(self, method: str, status: int, seconds: float) -> None:
        put = self._put
        put(b"%s%.3f%s" % (self._duration, seconds * 1000.0, self._timer_suffix))
        put(self._requests)
        status_datagram = self._status.get(status)
        if status_datagram is None:
            status_datagram = self._status[status] = self._datagram(f"{STATUS}{status}:1|c|@1.0")
        put(status_datagram)

    def workers(self, count: int) -> None:
        self.gauge(WORKERS, count)

    def close(self) -> None:
        self.sock.close()


class LogCounter(logging.Handler):
    """Counts the error log's warning, error, exception and critical lines, as Gunicorn's
    statsd logger does (``gunicorn.log.LEVEL``). An error line with a traceback is an
    exception, as ``log.exception()`` writes it."""

    def __init__(self, statsd: Statsd) -> None:
        super().__init__(logging.WARNING)
        self.statsd = statsd

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno == logging.ERROR and record.exc_info:
            name = _LOG_EXCEPTION
        else:
            name = _LOG_COUNTERS.get(record.levelno, "")
        if name:
            self.statsd.increment(name)
