"""Metrics against the real server: the Prometheus endpoint (``--metrics-bind``) scraped with
a real HTTP client while requests run, for every installed worker class, and StatsD
(``--statsd-host``) read from a UDP (and a unix) socket the test binds. Every test checks
values: counts equal to the requests sent, status classes, the worker count, restarts by
cause; and bad metrics settings are one line at start.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator

import pytest
from corral_testing import read_response, until, worker_classes
from corral_testing.load import many_requests
from corral_testing.process import CorralProcess, alive, assert_clean_error, run_corral
from prometheus_client.parser import text_string_to_metric_families

WORKERS = worker_classes()
_METRICS_AT = re.compile(r"Metrics at: (\S+) \((\d+)\)")
PATIENCE = 60  # seconds: a bound on progress on a loaded machine, not a timing claim

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def key(name: str, **labels: str) -> tuple[str, frozenset[tuple[str, str]]]:
    return (name, frozenset(labels.items()))


def _worker_flags(wclass: str) -> tuple[str, ...]:
    return ("-k", wclass, "--threads", "4") if wclass == "gthread" else ("-k", wclass)


class Endpoint:
    """The server's metrics endpoint, learnt from its log."""

    def __init__(self, server: CorralProcess) -> None:
        log = server.wait_log(_METRICS_AT.pattern)
        match = _METRICS_AT.search(log)
        assert match is not None
        self.url, self.pid = match.group(1), int(match.group(2))
        self.server = server

    def scrape(self) -> Samples:
        with urllib.request.urlopen(self.url, timeout=30) as response:
            assert response.status == 200
            assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
            text = response.read().decode()
        samples: Samples = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
        return samples

    def value(self, name: str, **labels: str) -> float:
        return self.scrape().get(key(name, **labels), 0.0)

    def wait_value(self, expected: float, name: str, **labels: str) -> None:
        seen: list[float] = []

        def reached() -> bool:
            seen.append(self.value(name, **labels))
            return seen[-1] == expected

        try:
            until(reached, PATIENCE, f"{name}{labels} == {expected}", interval=0.1)
        except AssertionError:
            raise AssertionError(f"{name}{labels}: last {seen[-1:]}, wanted {expected}") from None

    def workers(self) -> list[int]:
        """The master's children but this endpoint's process: the worker processes."""
        return [pid for pid in self.server.worker_pids() if pid != self.pid]


def _get(path: str, method: str = "GET") -> bytes:
    return f"{method} {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".encode()


@pytest.fixture(params=WORKERS)
def served(request: pytest.FixtureRequest, corral: object) -> Iterator[tuple[str, Endpoint]]:
    wclass = request.param
    server = corral(  # type: ignore[operator]
        "behaviours:app",
        *_worker_flags(wclass),
        *("-w", "2", "--metrics-bind", "127.0.0.1:0", "--timeout", "120"),
        wait_workers=2,
    )
    yield wclass, Endpoint(server)


def test_prometheus_counts_every_request_by_status_class_and_method(served) -> None:
    wclass, endpoint = served
    endpoint.wait_value(2, "corral_workers")
    raws = [_get("/hello")] * 40 + [_get("/nowhere", "POST")] * 10 + [_get("/raise")] * 5
    scrapes: list[Samples] = []
    errors: list[BaseException] = []
    done = threading.Event()

    def scrape_while_loaded() -> None:
        while not done.is_set():
            try:
                scrapes.append(endpoint.scrape())
            except BaseException as exc:  # reported by the test
                errors.append(exc)
                return

    scraper = threading.Thread(target=scrape_while_loaded)
    scraper.start()
    try:
        results = many_requests(endpoint.server.host, endpoint.server.port, raws)
    finally:
        done.set()
        scraper.join(60)
    assert not errors, errors
    assert scrapes, "no scrape answered while the load ran"
    statuses = Counter(r.status for r in results)
    assert statuses == {200: 40, 404: 10, 500: 5}, statuses

    endpoint.wait_value(40, "corral_requests_total", method="GET", status="2xx")
    samples = endpoint.scrape()

    def count(method: str, status: str) -> float:
        return samples.get(key("corral_requests_total", method=method, status=status), 0)

    assert count("POST", "4xx") == 10
    assert count("GET", "5xx") == 5
    assert count("GET", "4xx") == count("POST", "2xx") == 0
    total = sum(v for (name, _), v in samples.items() if name == "corral_requests_total")
    assert total == 55
    assert samples[key("corral_request_duration_seconds_count")] == 55
    assert samples[key("corral_request_duration_seconds_bucket", le="+Inf")] == 55
    assert samples[key("corral_requests_in_flight")] == 0
    assert samples[key("corral_workers")] == 2
    # Counts only grew while the load ran, scrape after scrape.
    gets = [s.get(key("corral_requests_total", method="GET", status="2xx"), 0) for s in scrapes]
    assert gets == sorted(gets), (wclass, gets)


def test_prometheus_in_flight_and_keepalive_connections(served) -> None:
    _wclass, endpoint = served
    server = endpoint.server
    sleeper = threading.Thread(
        target=many_requests, args=(server.host, server.port, [_get("/sleep?s=4")])
    )
    sleeper.start()
    try:
        endpoint.wait_value(1, "corral_requests_in_flight")
    finally:
        sleeper.join(60)
    endpoint.wait_value(0, "corral_requests_in_flight")
    # Three connections that each served a request and stay open between requests.
    kept = [server.connect() for _ in range(3)]
    try:
        for sock in kept:
            sock.sendall(b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
            assert read_response(sock).status == 200
        endpoint.wait_value(3, "corral_keepalive_connections")
    finally:
        for sock in kept:
            sock.close()
    endpoint.wait_value(0, "corral_keepalive_connections")


def test_prometheus_counts_a_killed_worker_as_a_crash_and_keeps_its_counts(served) -> None:
    _wclass, endpoint = served
    server = endpoint.server
    results = many_requests(server.host, server.port, [_get("/hello")] * 20)
    assert [r.status for r in results] == [200] * 20
    endpoint.wait_value(20, "corral_requests_total", method="GET", status="2xx")
    victim = endpoint.workers()[0]
    os.kill(victim, signal.SIGKILL)
    endpoint.wait_value(1, "corral_worker_restarts_total", cause="crash")
    until(lambda: victim not in endpoint.workers(), PATIENCE, "the killed worker reaped")
    until(lambda: len(endpoint.workers()) == 2, PATIENCE, "its replacement")
    samples = endpoint.scrape()
    for cause in ("timeout", "max-requests", "reload"):
        assert samples[key("corral_worker_restarts_total", cause=cause)] == 0
    assert samples[key("corral_workers")] == 2
    # A dead worker's requests still count.
    assert samples[key("corral_requests_total", method="GET", status="2xx")] == 20
    # The endpoint's own process is kept alive too.
    os.kill(endpoint.pid, signal.SIGKILL)
    new = server.wait_log(_METRICS_AT.pattern, timeout=PATIENCE, count=2)
    endpoint.pid = int(_METRICS_AT.findall(new)[-1][1])
    assert endpoint.value("corral_requests_total", method="GET", status="2xx") == 20


@pytest.mark.parametrize("wclass", WORKERS)
def test_prometheus_counts_max_requests_restarts(corral, wclass) -> None:
    server = corral(
        "behaviours:app",
        *_worker_flags(wclass),
        *("-w", "1", "--max-requests", "5", "--metrics-bind", "127.0.0.1:0"),
        *("--timeout", "120"),
        wait_workers=1,
    )
    endpoint = Endpoint(server)
    for _ in range(12):  # one at a time: the worker retires after its 5th and 10th
        (result,) = many_requests(server.host, server.port, [_get("/hello")])
        assert result.status == 200
    endpoint.wait_value(2, "corral_worker_restarts_total", cause="max-requests")
    endpoint.wait_value(12, "corral_requests_total", method="GET", status="2xx")
    assert endpoint.value("corral_worker_restarts_total", cause="crash") == 0
    assert endpoint.value("corral_workers") == 1


def test_scrapes_answer_while_workers_churn(corral) -> None:
    """A new worker creates its files as a scrape reads them all: the scrape still
    answers (the endpoint's process read an empty file and died, before)."""
    server = corral(
        "behaviours:app",
        *("-w", "3", "--max-requests", "2", "--metrics-bind", "127.0.0.1:0"),
        wait_workers=3,
    )
    endpoint = Endpoint(server)
    done = threading.Event()
    sent: list[int] = []

    def load() -> None:
        while not done.is_set():
            results = many_requests(server.host, server.port, [_get("/hello")] * 6)
            sent.extend(r.status for r in results)

    loader = threading.Thread(target=load)
    loader.start()
    scrapes = 0
    try:
        deadline = time.monotonic() + PATIENCE
        restarts = 0.0
        while restarts < 30:  # progress: thirty workers replaced while scrapes run
            assert time.monotonic() < deadline, f"only {restarts} restarts"
            restarts = endpoint.value("corral_worker_restarts_total", cause="max-requests")
            scrapes += 1
    finally:
        done.set()
        loader.join(PATIENCE)
    assert set(sent) == {200}
    assert "endpoint's process" not in server.log, server.log
    print(f"{scrapes} scrapes, {len(sent)} requests, {restarts} restarts")


def test_prometheus_counts_a_timed_out_worker(corral) -> None:
    server = corral(
        "behaviours:app",
        *("-w", "1", "--timeout", "2", "--metrics-bind", "127.0.0.1:0"),
        wait_workers=1,
    )
    endpoint = Endpoint(server)
    (result,) = many_requests(server.host, server.port, [_get("/spin?s=30")])
    assert result.status == 500  # the aborted request is answered (docs/SIGNALS.md)
    endpoint.wait_value(1, "corral_worker_restarts_total", cause="timeout")
    assert endpoint.value("corral_worker_restarts_total", cause="crash") == 0


def test_metrics_files_are_removed_at_exit(corral, tmp_path) -> None:
    env = dict(os.environ, TMPDIR=str(tmp_path))
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    server = corral("behaviours:app", "--metrics-bind", "127.0.0.1:0", env=env, wait_workers=1)
    endpoint = Endpoint(server)
    (result,) = many_requests(server.host, server.port, [_get("/hello")])
    assert result.status == 200
    endpoint.wait_value(1, "corral_requests_total", method="GET", status="2xx")
    (folder,) = tmp_path.iterdir()
    assert folder.name.startswith("corral-metrics-") and any(folder.iterdir())
    assert server.stop() == 0
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(OSError):
        urllib.request.urlopen(endpoint.url, timeout=5)


def test_the_endpoint_process_exits_when_the_master_is_killed(corral, tmp_path) -> None:
    env = dict(os.environ, TMPDIR=str(tmp_path))  # (the killed master leaves its files there)
    server = corral("behaviours:app", "--metrics-bind", "127.0.0.1:0", env=env, wait_workers=1)
    endpoint = Endpoint(server)
    assert endpoint.value("corral_workers") == 1
    os.kill(server.pid, signal.SIGKILL)
    until(lambda: not alive(endpoint.pid), PATIENCE, "the endpoint's process to exit")


def test_hup_keeps_the_metrics_of_the_start_and_says_so(corral, tmp_path) -> None:
    conf = tmp_path / "corral.conf.py"
    conf.write_text("metrics_bind = '127.0.0.1:0'\n")
    server = corral("-c", str(conf), "behaviours:app", wait_workers=1)
    endpoint = Endpoint(server)
    results = many_requests(server.host, server.port, [_get("/hello")] * 2)
    assert [r.status for r in results] == [200] * 2
    conf.write_text("statsd_host = 'localhost:8125'\n")
    os.kill(server.pid, signal.SIGHUP)
    server.wait_log(
        "--statsd-host, --metrics-bind cannot change on a reload: restart corral", PATIENCE
    )
    server.wait_log("Reload complete", PATIENCE)
    endpoint.wait_value(2, "corral_requests_total", method="GET", status="2xx")


def test_usr2_new_master_takes_over_the_endpoint(corral, tmp_path) -> None:
    pidfile = tmp_path / "corral.pid"
    server = corral(
        "behaviours:app",
        *("-w", "1", "-p", str(pidfile), "--metrics-bind", "127.0.0.1:0"),
        wait_workers=1,
    )
    endpoint = Endpoint(server)
    results = many_requests(server.host, server.port, [_get("/hello")] * 3)
    assert [r.status for r in results] == [200] * 3
    endpoint.wait_value(3, "corral_requests_total", method="GET", status="2xx")
    os.kill(server.pid, signal.SIGUSR2)
    new_master = 0
    try:

        def new_pid() -> bool:
            nonlocal new_master
            text = pidfile.read_text().strip() if pidfile.exists() else ""
            new_master = int(text) if text.isdigit() and int(text) != server.pid else 0
            return bool(new_master)

        until(new_pid, PATIENCE, "the new master's pid file")
        server.wait_log(_METRICS_AT.pattern, timeout=PATIENCE, count=2)
        assert server.stop() == 0  # the old master goes; the new one serves on
        url = endpoint.url
        endpoint.url = _METRICS_AT.findall(server.log)[-1][0]
        assert endpoint.url == url  # the same socket, handed over
        results = many_requests(server.host, server.port, [_get("/hello")] * 2)
        assert [r.status for r in results] == [200] * 2
        # The new master's own counts, in its own directory: 2, not 3 + 2.
        endpoint.wait_value(2, "corral_requests_total", method="GET", status="2xx")
    finally:
        if new_master:
            os.kill(new_master, signal.SIGTERM)
            until(lambda: not alive(new_master), PATIENCE, "the new master to stop")


@pytest.mark.skipif(os.geteuid() != 0, reason="switching identity needs root")
def test_workers_running_as_another_user_write_their_metrics(corral) -> None:
    server = corral(
        "corral.demo:app",
        *("-w", "2", "--user", "nobody", "--metrics-bind", "127.0.0.1:0"),
        wait_workers=2,
    )
    endpoint = Endpoint(server)
    results = many_requests(server.host, server.port, [_get("/")] * 4)
    assert [r.status for r in results] == [200] * 4
    endpoint.wait_value(4, "corral_requests_total", method="GET", status="2xx")
    assert "Error recording" not in server.log


def test_the_endpoint_answers_only_get_and_head_of_metrics(corral) -> None:
    server = corral("behaviours:app", "--metrics-bind", "127.0.0.1:0", wait_workers=1)
    endpoint = Endpoint(server)
    host, port = endpoint.url.split("//")[1].split("/")[0].split(":")
    answers = many_requests(
        host,
        int(port),
        [
            b"HEAD /metrics HTTP/1.1\r\nHost: t\r\n\r\n",
            b"POST /metrics HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n",
            b"GET /other HTTP/1.1\r\nHost: t\r\n\r\n",
            b"GET /metrics?x=1 HTTP/1.0\r\n\r\n",
            b"GET /metrics HTTP/1.1\r\nHost: t\r\nBad Header\r\n\r\n",
        ],
    )
    assert [a.status for a in answers] == [200, 405, 404, 200, 400]
    assert answers[0].body == b""
    assert b"corral_workers 1.0" in answers[3].body


# --------------------------------------------------------------------------------------
# StatsD, as Gunicorn sends it


class StatsdServer:
    """A datagram socket the test binds; every datagram received, decoded."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.sock.settimeout(0.2)
        self.lines: list[str] = []

    def wait(self, predicate: object, what: str) -> None:
        def progress() -> bool:
            try:
                while True:
                    self.lines.append(self.sock.recv(65536).decode())
            except TimeoutError:
                pass
            return bool(predicate(Counter(self.lines)))  # type: ignore[operator]

        until(progress, PATIENCE, what, interval=0)


@pytest.fixture
def udp() -> Iterator[StatsdServer]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    yield StatsdServer(sock)
    sock.close()


@pytest.mark.parametrize("wclass", WORKERS)
def test_statsd_sends_gunicorns_metrics_with_prefix_and_tags(corral, udp, wclass) -> None:
    port = udp.sock.getsockname()[1]
    server = corral(
        "behaviours:app",
        *_worker_flags(wclass),
        *("-w", "2", "--statsd-host", f"127.0.0.1:{port}"),
        *("--statsd-prefix", "shop...", "--dogstatsd-tags", "env:test,app:shop"),
        wait_workers=2,
    )
    tags = "|#env:test,app:shop"
    udp.wait(lambda seen: seen[f"shop.gunicorn.workers:2|g{tags}"] >= 1, "the workers gauge")
    raws = [_get("/hello")] * 6 + [_get("/nowhere")] * 2 + [_get("/raise")]
    results = many_requests(server.host, server.port, raws)
    assert sorted(r.status for r in results) == [200] * 6 + [404] * 2 + [500]
    requests = f"shop.gunicorn.requests:1|c|@1.0{tags}"
    udp.wait(lambda seen: seen[requests] >= 9, "a requests counter per request")
    seen = Counter(udp.lines)
    assert seen[requests] == 9
    assert seen[f"shop.gunicorn.request.status.200:1|c|@1.0{tags}"] == 6
    assert seen[f"shop.gunicorn.request.status.404:1|c|@1.0{tags}"] == 2
    assert seen[f"shop.gunicorn.request.status.500:1|c|@1.0{tags}"] == 1
    timers = [line for line in udp.lines if line.startswith("shop.gunicorn.request.duration:")]
    assert len(timers) == 9
    for line in timers:
        value, _, rest = line.partition(":")[2].partition("|")
        assert float(value) >= 0 and rest == "ms" + tags, line
    # The application's exception is logged with its traceback: an exception line.
    udp.wait(
        lambda seen: seen[f"shop.gunicorn.log.exception:1|c|@1.0{tags}"] == 1,
        "the exception counted",
    )


def test_statsd_counts_error_log_lines_and_the_worker_gauge(corral, udp) -> None:
    port = udp.sock.getsockname()[1]
    server = corral(
        "behaviours:app", "-w", "2", "--statsd-host", f"127.0.0.1:{port}", wait_workers=2
    )
    udp.wait(lambda seen: seen["gunicorn.workers:2|g"] >= 1, "the workers gauge")
    victim = server.worker_pids()[0]
    os.kill(victim, signal.SIGKILL)  # "Worker (pid:N) was sent SIGKILL!": an error line
    udp.wait(lambda seen: seen["gunicorn.log.error:1|c|@1.0"] >= 1, "the error counted")
    os.kill(server.pid, signal.SIGTTIN)  # three workers: the gauge says so
    udp.wait(lambda seen: seen["gunicorn.workers:3|g"] >= 1, "the gauge after TTIN")
    assert not any(line.startswith("gunicorn.log.warning") for line in udp.lines)


def test_backlog_metric_counts_connections_no_worker_took_yet(corral, udp) -> None:
    port = udp.sock.getsockname()[1]
    server = corral(
        "behaviours:app",
        *("-w", "1", "--statsd-host", f"127.0.0.1:{port}", "--enable-backlog-metric"),
        *("--metrics-bind", "127.0.0.1:0", "--timeout", "120"),
        wait_workers=1,
    )
    endpoint = Endpoint(server)
    udp.wait(lambda seen: seen["gunicorn.backlog:0|h"] >= 1, "an empty backlog")
    # The one sync worker is busy in the application: three more connections wait.
    busy = threading.Thread(
        target=many_requests, args=(server.host, server.port, [_get("/sleep?s=6")])
    )
    busy.start()
    endpoint.wait_value(1, "corral_requests_in_flight")
    waiting = [server.connect() for _ in range(3)]
    try:
        udp.wait(lambda seen: seen["gunicorn.backlog:3|h"] >= 1, "three waiting connections")
        endpoint.wait_value(3, "corral_listen_backlog")
    finally:
        for sock in waiting:
            sock.close()
        busy.join(PATIENCE)
    endpoint.wait_value(0, "corral_listen_backlog")


def test_statsd_to_a_unix_datagram_socket(corral, tmp_path) -> None:
    path = str(tmp_path / "statsd.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    statsd = StatsdServer(sock)
    try:
        server = corral("behaviours:app", "--statsd-host", f"unix://{path}", wait_workers=1)
        results = many_requests(server.host, server.port, [_get("/hello")] * 3)
        assert [r.status for r in results] == [200] * 3
        statsd.wait(
            lambda seen: seen["gunicorn.request.status.200:1|c|@1.0"] == 3, "three requests"
        )
        assert Counter(statsd.lines)["gunicorn.requests:1|c|@1.0"] == 3
    finally:
        sock.close()


# --------------------------------------------------------------------------------------
# Bad metrics settings: one line at start


def test_statsd_host_that_does_not_resolve():
    result = run_corral("--statsd-host", "no-such-host.invalid:8125", "behaviours:app")
    assert_clean_error(result, 1, "--statsd-host: cannot resolve 'no-such-host.invalid'")
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_statsd_unix_socket_that_is_not_there(tmp_path):
    result = run_corral("--statsd-host", f"unix:{tmp_path}/none.sock", "behaviours:app")
    assert_clean_error(result, 1, f"--statsd-host: cannot reach 'unix:{tmp_path}/none.sock'")


def test_metrics_bind_port_already_in_use():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_corral("--metrics-bind", f"127.0.0.1:{port}", "behaviours:app")
    assert_clean_error(
        result, 1, f"--metrics-bind: cannot bind to '127.0.0.1:{port}'", "address already in use"
    )
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (("--metrics-bind", "127.0.0.1:http"), "--metrics-bind: expected a port number"),
        (("--metrics-bind", "fd://3"), "--metrics-bind: expected HOST:PORT or unix:PATH"),
        (("--statsd-host", "fd://3"), "--statsd-host: expected an address like HOST:PORT"),
        (("--statsd-host", "localhost:99999"), "--statsd-host: expected a port number"),
    ],
)
def test_malformed_metrics_address(flags, message):
    result = run_corral(*flags, "behaviours:app")
    assert_clean_error(result, 2, message)
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


# --------------------------------------------------------------------------------------
# Metrics beside the other features


def test_a_config_file_that_imports_prometheus_client_first_still_gets_the_metrics(
    corral, tmp_path
) -> None:
    """prometheus_client's own recipe for Gunicorn is a config file that imports it; it is
    imported before corral sets the multiprocess directory, and must still write there."""
    conf = tmp_path / "corral.conf.py"
    conf.write_text("from prometheus_client import multiprocess  # noqa: F401\n")
    server = corral("-c", str(conf), "--metrics-bind", "127.0.0.1:0", "behaviours:app")
    endpoint = Endpoint(server)
    results = many_requests(server.host, server.port, [_get("/hello")] * 3)
    assert [r.status for r in results] == [200] * 3
    endpoint.wait_value(3, "corral_requests_total", method="GET", status="2xx")


def test_the_statsd_log_counter_survives_a_reload_of_a_logging_config(
    corral, udp, tmp_path
) -> None:
    """A logging configuration that names gunicorn.error replaces its handlers at every
    (re)activation: the statsd log-line counter must be put back each time."""
    import json

    config = tmp_path / "logging.json"
    config.write_text(
        json.dumps(
            {
                "version": 1,
                "handlers": {"h": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr"}},
                "loggers": {"gunicorn.error": {"handlers": ["h"], "level": "INFO"}},
            }
        )
    )
    port = udp.sock.getsockname()[1]
    server = corral(
        "--log-config-json", str(config), "--statsd-host", f"127.0.0.1:{port}",
        "behaviours:app", wait_workers=1,
    )  # fmt: skip
    exception = "gunicorn.log.exception:1|c|@1.0"
    results = many_requests(server.host, server.port, [_get("/raise")])
    assert [r.status for r in results] == [500]
    udp.wait(lambda seen: seen[exception] == 1, "the exception counted")
    old = server.worker_pids()
    os.kill(server.pid, signal.SIGHUP)
    server.wait_log("Reload complete", PATIENCE)
    until(lambda: not set(server.worker_pids()) & set(old), PATIENCE, "the old worker gone")
    results = many_requests(server.host, server.port, [_get("/raise")])
    assert [r.status for r in results] == [500]
    udp.wait(lambda seen: seen[exception] == 2, "the exception counted after the reload")


def test_the_endpoint_process_is_titled_and_shrugs_off_the_masters_signals(corral) -> None:
    server = corral("--name", "shop", "--metrics-bind", "127.0.0.1:0", "behaviours:app")
    endpoint = Endpoint(server)

    def title() -> str:
        with open(f"/proc/{endpoint.pid}/cmdline", "rb") as f:
            return f.read().rstrip(b"\0").decode().replace("\0", " ")

    until(lambda: title() == "corral: metrics [shop]", PATIENCE, "the endpoint titled")
    for sig in (signal.SIGHUP, signal.SIGINT, signal.SIGUSR1, signal.SIGTTIN):
        os.kill(endpoint.pid, sig)  # e.g. pkill -HUP -f corral, Ctrl-C to the group
    assert endpoint.value("corral_workers") == 1  # still there, and answering
    assert alive(endpoint.pid)
    assert "metrics endpoint's process" not in server.log


def test_an_unusable_prometheus_multiproc_dir_is_one_line(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("")
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(afile)}
    result = run_corral("--metrics-bind", "127.0.0.1:0", "behaviours:app", env=env)
    assert_clean_error(result, 1, f"--metrics-bind: cannot use PROMETHEUS_MULTIPROC_DIR '{afile}'")
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


@pytest.mark.parametrize("flag", ["--statsd-prefix", "--dogstatsd-tags"])
def test_a_non_ascii_statsd_name_is_one_line(flag):
    result = run_corral("--statsd-host", "127.0.0.1:9", flag, "café", "behaviours:app")
    assert_clean_error(result, 2, f"{flag}: expected printable ASCII characters only")
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
