"""The metrics' parts without a server: Gunicorn's statsd datagrams on a real UDP socket, the
log-level counters, and why the arbiter says a worker ended."""

from __future__ import annotations

import logging
import os
import signal
import socket
from collections.abc import Iterator

import pytest
from corral.heartbeat import RETIRE_MAX_REQUESTS, RETIRE_RELOAD
from corral.metrics import exit_cause
from corral.metrics.statsd import LogCounter, Statsd, connect


@pytest.fixture
def receiver() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(5)
    yield sock
    sock.close()


def _statsd(receiver: socket.socket, prefix: str = "", tags: str = "") -> Statsd:
    host, port = receiver.getsockname()
    return Statsd(connect(f"{host}:{port}"), prefix, tags)


@pytest.mark.parametrize(
    ("prefix", "name"),
    [
        ("", "gunicorn.requests"),
        ("shop", "shop.gunicorn.requests"),
        ("shop.", "shop.gunicorn.requests"),
        ("shop...", "shop.gunicorn.requests"),
        ("eu.shop", "eu.shop.gunicorn.requests"),
    ],
)
def test_prefix_ends_with_one_dot(receiver: socket.socket, prefix: str, name: str) -> None:
    statsd = _statsd(receiver, prefix)
    statsd.increment("gunicorn.requests")
    assert receiver.recv(512) == f"{name}:1|c|@1.0".encode()


def test_a_request_is_three_datagrams_with_tags(receiver: socket.socket) -> None:
    statsd = _statsd(receiver, "p", "env:prod,team:web")
    statsd.request_done("GET", 503, 0.0125)
    got = [receiver.recv(512) for _ in range(3)]
    assert got == [
        b"p.gunicorn.request.duration:12.500|ms|#env:prod,team:web",
        b"p.gunicorn.requests:1|c|@1.0|#env:prod,team:web",
        b"p.gunicorn.request.status.503:1|c|@1.0|#env:prod,team:web",
    ]
    statsd.workers(4)
    assert receiver.recv(512) == b"p.gunicorn.workers:4|g|#env:prod,team:web"


def test_a_metric_nobody_receives_is_dropped() -> None:
    closed = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    statsd = Statsd(connect(f"127.0.0.1:{port}"))
    for _ in range(3):  # ECONNREFUSED comes back on a later send: never raised
        statsd.request_done("GET", 200, 0.001)
    statsd.close()


def test_log_levels_are_counted_as_gunicorn_names_them(receiver: socket.socket) -> None:
    logger = logging.getLogger("corral.test.metrics")
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    counter = LogCounter(_statsd(receiver))
    logger.addHandler(counter)
    try:
        logger.info("not counted")
        logger.warning("w")
        logger.error("e")
        try:
            raise ValueError("x")
        except ValueError:
            logger.exception("with a traceback")
        logger.critical("c")
    finally:
        logger.removeHandler(counter)
    got = [receiver.recv(512) for _ in range(4)]
    assert got == [
        b"gunicorn.log.warning:1|c|@1.0",
        b"gunicorn.log.error:1|c|@1.0",
        b"gunicorn.log.exception:1|c|@1.0",
        b"gunicorn.log.critical:1|c|@1.0",
    ]


KILLED = -signal.SIGKILL


def _status(end: int) -> int:
    """A real wait status: of a child that exits with code ``end``, or dies of the signal
    ``-end``."""
    pid = os.fork()
    if pid == 0:
        if end < 0:
            os.kill(os.getpid(), -end)
        os._exit(end)
    return os.waitpid(pid, 0)[1]


@pytest.mark.parametrize(
    ("end", "aborted", "own", "retiring", "stopping", "cause"),
    [
        (1, 10.0, 0.0, False, False, "timeout"),
        (KILLED, 10.0, 0.0, False, False, "timeout"),
        (0, 0.0, RETIRE_MAX_REQUESTS, True, False, "max-requests"),
        (0, 0.0, RETIRE_RELOAD, True, False, "reload"),
        (0, 0.0, 0.0, True, False, ""),  # TTOU / HUP: the master asked
        (KILLED, 0.0, 0.0, False, False, "crash"),
        (KILLED, 0.0, 0.0, True, False, "crash"),
        (1, 0.0, RETIRE_MAX_REQUESTS, True, False, "crash"),
        (0, 0.0, 0.0, False, False, "crash"),  # left without being asked
        (KILLED, 0.0, 0.0, True, True, ""),  # the server stops
    ],
)
def test_why_a_worker_ended(
    end: int, aborted: float, own: float, retiring: bool, stopping: bool, cause: str
) -> None:
    assert exit_cause(_status(end), aborted, own, retiring, stopping) == cause
