"""The green workers' test suite, written once: corral-gevent and corral-eventlet each run it.

Each green worker package's tests set the ``green`` fixture (a ``GreenLibrary``: the worker's
name, class and library in its ``conftest.py``) and import the tests into one module of their
own::

    from corral_testing.green_suite import *  # noqa: F403

so ``pytest packages/workers-gevent/tests`` runs them with ``-k gevent`` only, and the
package still owns and runs its tests. Every test starts the real ``corral`` and talks to it
over sockets; the fixture app is ``greenapps/green_app.py`` (served from ``GREEN_APPS``),
which learns the library's socket class and sleep from the environment the ``serve``
fixture gives it. Tests that only one library needs stay in that package's tests.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path

import pytest
from corpus.run import option_groups, run_corpus
from corral.workers.base import WORKER_API_VERSION

from . import (
    FIXTURE_APPS,
    Client,
    CorralProcess,
    Response,
    drain,
    slow_reader,
    stop_all,
    until,
    upload,
)
from .install import build_wheelhouse, install, serves_demo
from .load import many_requests, raise_fd_limit

GREEN_APPS = Path(__file__).resolve().parent / "greenapps"

Serve = Callable[..., CorralProcess]


def _named(spec: str) -> object:
    """``module:name`` -> the object."""
    module, _, name = spec.partition(":")
    return getattr(import_module(module), name)


@dataclass(frozen=True)
class GreenLibrary:
    """A green worker plug-in, as its package's ``green`` fixture describes it."""

    worker: str  # the -k name and the extra: corral[<worker>]
    worker_class: str  # module:Class of the plug-in's worker
    gunicorn_alias: str  # Gunicorn's dotted path for its worker of the same library
    green_socket: str  # module:name of the socket class the library patches in
    sleep: str  # module:name of the library's cooperative sleep

    @property
    def package(self) -> str:
        """The plug-in's import package: ``corral_gevent``."""
        return self.worker_class.partition(".")[0]

    @property
    def distribution(self) -> str:
        """The plug-in's distribution: ``corral-gevent``."""
        return self.package.replace("_", "-")

    def load_worker_class(self) -> type:
        cls = _named(self.worker_class)
        assert isinstance(cls, type), cls
        return cls

    def env(self) -> dict[str, str]:
        """The environment of every corral the suite starts: what the green app and
        ``greenapps/future_worker.py`` read."""
        return {
            **os.environ,
            "CORRAL_TESTING_GREEN_SOCKET": self.green_socket,
            "CORRAL_TESTING_GREEN_SLEEP": self.sleep,
            "CORRAL_TESTING_GREEN_WORKER": self.worker_class,
        }


@pytest.fixture
def serve(green: GreenLibrary) -> Iterator[Serve]:
    """``serve(*ARGS)``: start ``corral -k <green.worker> ARGS`` (cwd: ``GREEN_APPS``, one
    worker unless ARGS say otherwise; ``worker=None`` leaves out ``-k``); stopped after the
    test."""
    started: list[CorralProcess] = []

    def start(
        *args: str, worker: str | None = green.worker, cwd: Path = GREEN_APPS, **kwargs: object
    ) -> CorralProcess:
        flags = ["-k", worker] if worker else []
        kwargs.setdefault("env", green.env())
        proc = CorralProcess(*flags, *args, cwd=cwd, **kwargs)  # type: ignore[arg-type]
        started.append(proc)
        return proc.start(wait_workers=1)

    yield start
    stop_all(started, timeout=15)


SLEEP_1 = b"GET /sleep?s=1 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"


def _get(server: CorralProcess, path: str, timeout: float = 10.0) -> Response:
    with server.connect(timeout=timeout) as sock:
        client = Client(sock)
        client.send(f"GET {path} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
        return client.response()


def _quiet(server: CorralProcess, path: str) -> None:
    try:
        _get(server, path, timeout=60)
    except OSError:
        pass


# --------------------------------------------------------------------------------------
# Serving: byte for byte like the sync worker (Date and the echo app's pid and ports
# aside), over the core's integration scenarios and fixture apps.

CLOSE = b"GET /hello HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"

# name -> turns: each turn's bytes are sent, then the replies read (to EOF after the last).
SCENARIOS: dict[str, list[bytes]] = {
    "keep-alive": [b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n", b"GET /pid-free HTTP/1.1\r\n\r\n"],
    "http10-closes": [b"GET /hello HTTP/1.0\r\n\r\n" + CLOSE],
    "http10-keep-alive": [b"GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n" + CLOSE],
    "connection-close-stops": [
        b"GET /echo HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n" + CLOSE
    ],
    "pipelining": [
        b"GET /echo/a HTTP/1.1\r\nHost: t\r\n\r\n"
        b"POST /echo/b HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello"
        b"POST /echo/c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"3\r\nabc\r\n0\r\n\r\n"
        b"GET /echo/d?x=1 HTTP/1.1\r\nHost: t\r\n\r\n" + CLOSE
    ],
    "chunked-body-trailers": [
        b"PUT /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Checksum: 1\r\n\r\n" + CLOSE
    ],
    "chunked-response": [b"GET /stream?n=3&size=10 HTTP/1.1\r\nHost: t\r\n\r\n" + CLOSE],
    "close-delimited-response": [b"GET /stream?n=3&size=10 HTTP/1.0\r\n\r\n"],
    "100-continue": [
        b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n",
        b"data" + CLOSE,
    ],
    "head": [b"HEAD /hello HTTP/1.1\r\nHost: t\r\n\r\n" + CLOSE],
    "204-304": [
        b"GET /status?code=204 HTTP/1.1\r\nHost: t\r\n\r\n"
        b"GET /status?code=304 HTTP/1.1\r\nHost: t\r\n\r\n" + CLOSE
    ],
    "unread-body-is-skipped": [
        b"POST /hello HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello" + CLOSE
    ],
    "readline-stops-at-body-end": [
        b"POST /readline?n=3 HTTP/1.1\r\nHost: t\r\nContent-Length: 8\r\n\r\none\ntwo\n" + CLOSE
    ],
    "app-raises": [b"GET /raise HTTP/1.1\r\nHost: t\r\n\r\n" + CLOSE],
    "app-raises-mid-stream": [b"GET /raise-after-start HTTP/1.1\r\nHost: t\r\n\r\n" + CLOSE],
    "write-and-exc-info": [
        b"GET /write HTTP/1.1\r\nHost: t\r\n\r\nGET /exc-info HTTP/1.1\r\nHost: t\r\n\r\n" + CLOSE
    ],
    "file-wrapper": [
        b"GET /file?size=100000&length=1 HTTP/1.1\r\nHost: t\r\n\r\n"
        b"GET /file?size=100000&length=0 HTTP/1.1\r\nHost: t\r\n\r\n" + CLOSE
    ],
    "bad-response-header": [b"GET /bad-header HTTP/1.1\r\nHost: t\r\n\r\n" + CLOSE],
    "body-longer-than-length": [b"GET /too-long HTTP/1.1\r\nHost: t\r\n\r\n" + CLOSE],
    "request-line-too-long": [b"GET /" + b"a" * 200 + b" HTTP/1.1\r\nHost: t\r\n\r\n" + CLOSE],
    "too-many-fields": [
        b"GET / HTTP/1.1\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(6)) + b"\r\n" + CLOSE
    ],
    "field-too-large": [
        b"GET / HTTP/1.1\r\nHost: t\r\nX-Big: " + b"v" * 9000 + b"\r\n\r\n" + CLOSE
    ],
    "space-before-colon": [b"GET / HTTP/1.1\r\nHost : t\r\n\r\n" + CLOSE],
    "tls-to-plain-port": [b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + CLOSE],
    "bad-chunk-size": [
        b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n" + CLOSE
    ],
    "both-length-and-chunked": [
        b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n" + CLOSE
    ],
}


# Differences by design, and what both workers must still do.
STREAMS_FIRST = {
    # A worker whose responses go out chunk by chunk has sent the first chunk before the
    # application fails; the sync worker had not flushed it yet. Both cut the connection
    # without the last chunk, so a client can tell the response is incomplete.
    "app-raises-mid-stream",
}


def _converse(host: str, port: int, turns: list[bytes]) -> list[bytes]:
    replies = []
    with socket.create_connection((host, port), timeout=10) as sock:
        for i, turn in enumerate(turns):
            sock.sendall(turn)
            last = i == len(turns) - 1
            # Every turn gets a reply: wait for its first bytes as long as a busy machine
            # needs; after a turn that is not the last, silence once bytes came means the
            # server waits for the next turn.
            sock.settimeout(30)
            got = bytearray()
            while True:
                try:
                    data = sock.recv(65536)
                except TimeoutError:
                    break  # silence: the server waits for the next turn
                except ConnectionResetError:
                    got += b"<reset>"
                    break
                if not data:
                    got += b"<eof>"
                    break
                got += data
                if not last:
                    sock.settimeout(0.5)
            replies.append(_normalise(bytes(got)))
    return replies


def _normalise(raw: bytes) -> bytes:
    raw = re.sub(rb"Date: [^\r]*\r\n", b"", raw)
    raw = re.sub(rb'"(pid|REMOTE_PORT|SERVER_PORT)": "?\d+"?', rb'"\1": N', raw)
    return re.sub(rb"(application/json\r\nContent-Length: )\d+", rb"\1N", raw)


@pytest.fixture(scope="module")
def apps_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One app for every scenario: /echo... to the core's echo app, the rest to behaviours."""
    folder = tmp_path_factory.mktemp("apps")
    (folder / "both.py").write_text(
        "import sys\n"
        f"sys.path.insert(0, {str(FIXTURE_APPS)!r})\n"
        "import behaviours, echo\n\n\n"
        "def app(environ, start_response):\n"
        "    if environ['PATH_INFO'].startswith('/echo'):\n"
        "        return echo.app(environ, start_response)\n"
        "    return behaviours.app(environ, start_response)\n"
    )
    return folder


def test_every_scenario_matches_the_sync_worker(
    serve: Serve, green: GreenLibrary, apps_dir: Path
) -> None:
    flags = ["--limit-request-line", "100", "--limit-request-fields", "5", "both:app"]
    sync = serve(*flags, worker="sync", cwd=apps_dir)
    green_server = serve(*flags, worker=green.worker, cwd=apps_dir)
    differences = {}
    for name, turns in SCENARIOS.items():
        want = _converse(sync.host, sync.port, turns)
        got = _converse(green_server.host, green_server.port, turns)
        assert want[-1].endswith((b"<eof>", b"<reset>")), (name, want)
        if name in STREAMS_FIRST:
            assert got[-1].endswith(b"<eof>") and b"0\r\n\r\n" not in got[-1], (name, got)
            assert want[-1].endswith(b"<eof>") and b"0\r\n\r\n" not in want[-1], (name, want)
        elif got != want:
            differences[name] = (want, got)
    assert not differences, differences


def test_the_application_is_imported_after_patching(serve: Serve) -> None:
    server = serve("green_app:app")
    with server.connect() as sock:
        sock.sendall(b"GET /patched HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        sock.settimeout(10)
        data = b""
        while chunk := sock.recv(4096):
            data += chunk
    assert data.endswith(b"\r\n\r\nTrue"), data


# --------------------------------------------------------------------------------------
# The core's HTTP request corpus: the sync worker's verdicts.

GROUPS = option_groups()


@pytest.mark.parametrize("options", list(GROUPS), ids=lambda o: " ".join(o) or "defaults")
def test_corpus_verdicts_match_the_sync_worker(
    serve: Serve, green: GreenLibrary, options: tuple[str, ...]
) -> None:
    cases = GROUPS[options]
    sync = serve(*options, "echo:app", worker="sync", cwd=FIXTURE_APPS)
    green_server = serve(*options, "echo:app", worker=green.worker, cwd=FIXTURE_APPS)
    sync_failures = run_corpus(sync, cases)
    green_failures = run_corpus(green_server, cases)
    assert cases
    # The same cases pass and the same fail (the core's own tests hold sync to the corpus).
    assert set(green_failures) == set(sync_failures), (sync_failures, green_failures)


# --------------------------------------------------------------------------------------
# Many concurrent connections on one worker, and the --worker-connections cap.


def test_two_thousand_connections_each_held_one_second_all_complete(serve: Serve) -> None:
    assert raise_fd_limit(8192) >= 4200, "needs ~4,200 descriptors (client + server)"
    server = serve("-w", "1", "--worker-connections", "2500", "--backlog", "4096", "green_app:app")
    started = time.monotonic()
    results = many_requests(server.host, server.port, [SLEEP_1] * 2000, timeout=60)
    elapsed = time.monotonic() - started
    failed = [r for r in results if r.status != 200 or r.body != b"slept"]
    assert not failed, (len(failed), failed[:3])
    # One at a time would take 2,000 s: most of them were held at once.
    assert elapsed < 60, elapsed
    assert int(_get(server, "/most-in-flight").body) >= 1000


def test_worker_connections_caps_the_connections_served_at_once(serve: Serve) -> None:
    server = serve("-w", "1", "--worker-connections", "10", "green_app:app")
    started = time.monotonic()
    results = many_requests(server.host, server.port, [SLEEP_1] * 30, timeout=30)
    elapsed = time.monotonic() - started
    assert [r.status for r in results] == [200] * 30
    # 30 one-second requests, 10 at a time: three waves at least (more on a busy machine).
    assert elapsed > 2.8, elapsed
    assert _get(server, "/most-in-flight").body == b"10"


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_proxy_protocol_client_address_is_kept_for_every_keep_alive_request(
    serve: Serve, version: str
) -> None:
    from corral_proxyproto import build_v1, build_v2

    server = serve("--proxy-protocol", version, "--proxy-allow-from", "127.0.0.1", "green_app:app")
    build = build_v1 if version == "v1" else build_v2
    header = build(("203.0.113.7", 40001), ("127.0.0.1", server.port))
    with server.connect() as sock:
        client = Client(sock)
        client.send(header + b"GET /remote HTTP/1.1\r\nHost: t\r\n\r\n")
        assert client.response().body == b"203.0.113.7:40001"
        for _ in range(3):  # later requests on the connection: the same client
            time.sleep(0.1)  # each one waits in the hub first
            client.send(b"GET /remote HTTP/1.1\r\nHost: t\r\n\r\n")
            assert client.response().body == b"203.0.113.7:40001"
    # Without the header, the connection is refused: nothing is served.
    with server.connect() as sock:
        client = Client(sock)
        client.send(b"GET /remote HTTP/1.1\r\nHost: t\r\n\r\n")
        assert client.at_eof(timeout=10)


# --------------------------------------------------------------------------------------
# Stopping, timeouts and --preload.


def test_term_finishes_in_flight_requests_and_closes_idle_keep_alive_at_once(serve: Serve):
    server = serve("--graceful-timeout", "120", "--keep-alive", "300", "green_app:app")
    idle = server.connect()
    idle_client = Client(idle)
    idle_client.send(b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
    assert idle_client.response().body == b"hello"  # now idle, kept alive for 300 s
    results: list[object] = []
    answered: list[float] = []
    raws = [b"GET /sleep?s=10 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"] * 5

    def send() -> None:
        results.extend(many_requests(server.host, server.port, raws, timeout=120))
        answered.append(time.monotonic())

    thread = threading.Thread(target=send)
    thread.start()
    until(lambda: _get(server, "/in-flight").body == b"5", 30, "the five requests in the app")
    sent = time.monotonic()
    os.kill(server.pid, signal.SIGTERM)
    assert idle_client.at_eof(timeout=60)
    idle_closed = time.monotonic()
    idle.close()
    assert server.proc is not None
    assert server.proc.wait(120) == 0
    thread.join(10)
    # The requests in flight were finished, whole; the idle connection (kept alive for
    # 300 s otherwise) was closed at once, while they still slept.
    assert [(r.status, r.body) for r in results] == [(200, b"slept")] * 5  # type: ignore[attr-defined]
    assert idle_closed < answered[0], (idle_closed - sent, answered[0] - sent)


def test_requests_still_running_after_the_graceful_timeout_are_cut(serve: Serve) -> None:
    server = serve("--graceful-timeout", "1", "green_app:app")
    results: list[object] = []
    raw = [b"GET /sleep?s=300 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"]
    thread = threading.Thread(
        target=lambda: results.extend(many_requests(server.host, server.port, raw, timeout=150))
    )
    thread.start()
    until(lambda: _get(server, "/in-flight").body == b"1", 30, "the request in the app")
    started = time.monotonic()
    assert server.stop(signal.SIGTERM, timeout=120) == 0
    assert time.monotonic() - started < 120  # cut after 1 s, not after the 300 s sleep
    thread.join(30)
    assert results[0].status == 0  # type: ignore[attr-defined]  # cut, no response


def test_cpu_bound_request_stops_the_hub_heartbeat_and_the_worker_is_replaced(serve: Serve):
    server = serve("--timeout", "2", "green_app:app")
    first = server.wait_workers(1)[0]
    # A cooperative wait longer than --timeout is fine: the hub keeps beating.
    assert _get(server, "/sleep?s=4").body == b"slept"
    assert server.worker_pids() == [first]
    # CPU work never yields to the hub: no heartbeat, the master kills the worker.
    threading.Thread(target=lambda: _quiet(server, "/spin?s=60"), daemon=True).start()
    server.wait_log(rf"WORKER TIMEOUT \(pid:{first}\)", timeout=15)
    server.wait_workers(1, exclude={first}, timeout=15)
    assert _get(server, "/hello").body == b"hello"


def test_quit_is_a_fast_stop(serve: Serve) -> None:
    server = serve("--graceful-timeout", "300", "green_app:app")
    threading.Thread(target=lambda: _quiet(server, "/sleep?s=300"), daemon=True).start()
    until(lambda: _get(server, "/in-flight").body == b"1", 30, "the slow request in flight")
    started = time.monotonic()
    assert server.stop(signal.SIGQUIT, timeout=120) == 0
    # A graceful stop would wait for the request (300 s): QUIT did not.
    assert time.monotonic() - started < 120


def test_preload_patches_the_master_before_importing_the_app(serve: Serve) -> None:
    server = serve("--preload", "-w", "2", "green_app:app")
    assert _get(server, "/patched").body == b"True"
    # The app's own `from time import sleep` is cooperative in the workers: one worker
    # held several of the sleeping requests at once (a blocking sleep holds one).
    results = many_requests(server.host, server.port, [SLEEP_1] * 100)
    assert [r.status for r in results] == [200] * 100
    peaks = {int(_get(server, "/most-in-flight").body) for _ in range(20)}
    assert max(peaks) > 1, peaks
    # The patched master still reaps and replaces workers, and stops cleanly.
    victim = server.wait_workers(2)[0]
    os.kill(victim, signal.SIGKILL)
    server.wait_workers(2, exclude={victim}, timeout=15)
    assert _get(server, "/hello").body == b"hello"
    assert server.stop(signal.SIGTERM) == 0


# --------------------------------------------------------------------------------------
# Slow clients: deadlines close them, so they cannot use up --worker-connections.


def _trickle(sock: socket.socket, stop: threading.Event) -> None:
    """Slowloris: a request head, one header byte every 0.3 s, never finished."""
    try:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: t\r\nX-Slow: ")
        while not stop.wait(0.3):
            sock.sendall(b"a")
    except OSError:
        pass  # closed by the server


def _closed_after(sock: socket.socket, started: float) -> float:
    sock.settimeout(60)
    try:
        while sock.recv(4096):
            pass
    except ConnectionResetError:
        pass
    return time.monotonic() - started


def test_slowloris_connections_are_closed_at_the_head_deadline(serve: Serve) -> None:
    server = serve("--header-timeout", "2", "--worker-connections", "4", "green_app:app")
    stop = threading.Event()
    slow = [server.connect() for _ in range(4)]
    started = time.monotonic()
    threads = [threading.Thread(target=_trickle, args=(s, stop), daemon=True) for s in slow]
    for thread in threads:
        thread.start()
    try:
        time.sleep(0.2)
        # Every slot is held by a slow client; this request waits in the backlog until
        # the deadline frees the slots, then is served.
        with server.connect(timeout=30) as sock:
            client = Client(sock)
            client.send(b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
            resp = client.response()
            served_after = time.monotonic() - started
        closed = [_closed_after(s, started) for s in slow]
    finally:
        stop.set()
        for s in slow:
            s.close()
    assert resp.body == b"hello"
    # Not before the 2 s deadline; the ceiling only tells a deadline from "never" (a
    # trickle goes on forever), loose enough for a busy machine.
    assert all(1.5 < t < 30 for t in closed), closed
    assert 1.5 < served_after < 30, served_after


def test_a_body_that_stops_arriving_is_closed_at_the_idle_deadline(serve: Serve) -> None:
    server = serve("--body-timeout", "2", "green_app:app")
    with server.connect() as sock:
        sock.sendall(b"POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\nabc")
        started = time.monotonic()
        elapsed = _closed_after(sock, started)
    assert 1.5 < elapsed < 30, elapsed  # the deadline, not before; never is a recv timeout
    # The worker lives on.
    with server.connect() as sock:
        client = Client(sock)
        client.send(b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
        assert client.response().body == b"hello"


def test_a_client_that_stops_reading_is_closed_at_the_send_deadline(serve: Serve) -> None:
    server = serve("--send-timeout", "2", "green_app:app")
    size = 64 << 20
    raw = f"GET /big?mb={size >> 20} HTTP/1.1\r\nHost: t\r\n\r\n".encode()
    with slow_reader(server.host, server.port, raw) as sock:
        time.sleep(10)  # reads nothing: the deadline (2 s, swept every 0.5 s) passes
        received = drain(sock, timeout=10)
    assert 0 < received < size, received  # cut: the rest of the response never came
    assert _get(server, "/hello").body == b"hello"  # and the worker lives on


def test_an_idle_keep_alive_connection_is_closed_after_keep_alive(serve: Serve) -> None:
    server = serve("--keep-alive", "1", "green_app:app")
    with server.connect() as sock:
        client = Client(sock)
        client.send(b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
        assert client.response().body == b"hello"
        started = time.monotonic()
        assert client.at_eof(timeout=30)  # closed by the server, not kept forever
        assert time.monotonic() - started > 0.9  # and not before the keep-alive ran out


def test_blank_lines_do_not_keep_an_idle_connection_open(serve: Serve) -> None:
    server = serve("--keep-alive", "2", "green_app:app")
    with server.connect() as sock:
        client = Client(sock)
        client.send(b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
        assert client.response().body == b"hello"
        started = time.monotonic()
        try:
            while time.monotonic() - started < 30:
                sock.sendall(b"\r\n")  # allowed before a request line, and ignored
                time.sleep(0.3)
        except OSError:
            pass  # closed by the server
        # Closed although a blank line came every 0.3 s: they did not renew the 2 s wait.
        assert client.at_eof(timeout=1)
        assert time.monotonic() - started < 30


def test_an_application_default_socket_timeout_is_not_the_connections(serve: Serve) -> None:
    server = serve("--keep-alive", "10", "default_timeout_app:app")
    with server.connect() as sock:
        client = Client(sock)
        client.send(b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
        assert client.response().body == b"hello"
        time.sleep(2)  # longer than the application's 1 s default timeout
        client.send(b"POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 6\r\n\r\nabc")
        time.sleep(2)  # the body stalls longer than 1 s too
        client.send(b"def")
        assert client.response().body.startswith(
            b"6 " + hashlib.sha256(b"abcdef").hexdigest().encode()
        )


def test_a_request_arriving_while_the_app_waits_does_not_make_the_hub_spin(serve: Serve):
    """The second request of a keep-alive connection arrives while the first one's app
    waits cooperatively: the worker must not busy-loop on the readable socket meanwhile."""
    server = serve("green_app:app")
    before = float(_get(server, "/cpu").body)
    with server.connect() as sock:
        client = Client(sock)
        client.send(b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
        assert client.response().body == b"hello"
        time.sleep(0.2)  # the connection waits for its next request (in the hub)
        client.send(b"GET /sleep?s=3 HTTP/1.1\r\nHost: t\r\n\r\n")
        time.sleep(0.5)
        client.send(b"GET /cpu HTTP/1.1\r\nHost: t\r\n\r\n")
        assert client.response().body == b"slept"
        after = float(client.response().body)
    assert after - before < 1.0, f"the worker used {after - before:.2f} CPU seconds"


# --------------------------------------------------------------------------------------
# Responses flushed chunk by chunk; request bodies streamed to the app with flat memory.


def test_streamed_response_arrives_chunk_by_chunk(serve: Serve) -> None:
    server = serve("green_app:app")
    with server.connect() as sock:
        sock.sendall(b"GET /stream?n=5&delay=0.4 HTTP/1.1\r\nHost: t\r\n\r\n")
        started = time.monotonic()
        arrivals: list[float] = []
        data = b""
        while len(arrivals) < 5:
            piece = sock.recv(65536)
            assert piece, data
            data += piece
            while data.count(b"data: ") > len(arrivals):
                arrivals.append(time.monotonic() - started)
    # Each event arrives on its own, about `delay` after the previous one: had the
    # response been buffered, they would all arrive together at the end. (Bounds are
    # loose: the machine may be busy; the exact timing is not what is tested.)
    assert arrivals[-1] - arrivals[0] > 1.0, arrivals
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    assert all(gap > 0.2 for gap in gaps), arrivals


def test_hundred_megabyte_upload_is_streamed_with_flat_memory(serve: Serve) -> None:
    server = serve("green_app:app")
    size = 100 * 1024 * 1024
    with server.connect(timeout=60) as sock:
        resp, sent = upload(sock, size)
    total, hexdigest, before, after = resp.body.decode().split()
    assert int(total) == size and hexdigest == sent
    # Peak RSS of the worker (KiB) grew by far less than the body.
    assert int(after) - int(before) < 16 * 1024, (before, after)


# --------------------------------------------------------------------------------------
# How corral finds the worker, and refuses one built for another worker API.


def _corral(green: GreenLibrary, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "corral", *args],
        cwd=GREEN_APPS,
        env=green.env(),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_entry_point_names_the_worker_and_it_speaks_this_api(green: GreenLibrary) -> None:
    from corral.plugins import load_worker_class

    worker_class = green.load_worker_class()
    cls = load_worker_class(green.worker)
    assert cls is worker_class
    assert cls.CORRAL_WORKER_API == WORKER_API_VERSION
    # Gunicorn's spelling in old gunicorn.conf.py files finds it too.
    assert load_worker_class(green.gunicorn_alias) is worker_class


def test_a_worker_for_another_api_is_refused_with_both_versions_and_the_fix(
    green: GreenLibrary,
) -> None:
    result = _corral(green, "--check-config", "-k", "future_worker:FutureWorker", "green_app:app")
    assert result.returncode != 0
    message = result.stderr
    assert f"worker API {WORKER_API_VERSION + 1}" in message, message
    assert f"speaks worker API {WORKER_API_VERSION}" in message, message
    assert "pip install --upgrade corral" in message, message
    assert "Traceback" not in message


def test_an_installed_plugin_of_another_api_names_its_distribution(green: GreenLibrary) -> None:
    # The installed entry point itself, as if the plug-in were built for another API.
    module, _, name = green.worker_class.partition(":")
    code = (
        "import sys\n"
        f"from {module} import {name}\n"
        f"{name}.CORRAL_WORKER_API = {WORKER_API_VERSION + 1}\n"
        "from corral.cli import main\n"
        f"sys.exit(main(['--check-config', '-k', '{green.worker}', 'green_app:app']))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=GREEN_APPS,
        env=green.env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert f"pip install --upgrade corral {green.distribution}" in result.stderr, result.stderr


# --------------------------------------------------------------------------------------
# Installed the way users install it: ``pip install 'corral[<worker>]'`` from wheels only.


def test_corral_extra_installs_the_worker_from_wheels_and_serves_the_demo(
    green: GreenLibrary, tmp_path: Path
) -> None:
    wheels = build_wheelhouse(tmp_path / "wheels")
    names = {p.name.split("-")[0] for p in wheels.glob("corral*.whl")}
    assert {"corral", "corral_gevent", "corral_eventlet", "corral_proxyproto"} <= names, names
    corral = install(tmp_path / "venv", wheels, f"corral[{green.worker}]")
    body = serves_demo(corral, green.worker, cwd=tmp_path)
    assert body.startswith(b"HTTP/1.1 200 "), body[:200]
    # Installed, not the workspace's sources: the venv's own site-packages.
    site = list((tmp_path / "venv" / "lib").glob(f"python3*/site-packages/{green.package}"))
    assert site, f"{green.package} is not installed in the fresh environment"


# What ``from corral_testing.green_suite import *`` gives a package's test module: every
# test above (so a new one runs in both packages without being listed) and ``apps_dir``.
__all__ = ["apps_dir", *sorted(name for name in dict(globals()) if name.startswith("test_"))]
