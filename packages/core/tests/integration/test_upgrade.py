"""USR2: a new master on the same sockets beside the old one, then TERM of the old one:
an upgrade that refuses no request; WINCH stops the old master's workers; a new master
that cannot boot leaves the old one serving."""

from __future__ import annotations

import os
import signal
import time

import pytest
from corral_testing import get_body, until, worker_classes
from corral_testing.churn import RequestLoops
from corral_testing.process import alive, children_of

APP = """
import os

VERSION = {version!r}

def app(environ, start_response):
    body = str(os.getpid()) if environ["PATH_INFO"] == "/pid" else VERSION
    start_response("200 OK", [("Content-Length", str(len(body)))])
    return [body.encode()]
"""


def _read_pid(path) -> int:
    try:
        return int(path.read_text().strip() or 0)
    except (FileNotFoundError, ValueError):
        return 0


@pytest.fixture
def upgraded(tmp_path):
    """Masters a test started by USR2 (not our children): stopped afterwards."""
    started: list[int] = []
    yield started
    for pid in started:
        if alive(pid):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while any(alive(pid) for pid in started) and time.monotonic() < deadline:
        time.sleep(0.05)
    for pid in started:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)


def _start(corral, tmp_path, wclass: str, *extra: str):
    (tmp_path / "upgradeapp.py").write_text(APP.format(version="old"))
    pidfile = tmp_path / "corral.pid"
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    server = corral(
        "upgradeapp:app",
        *("-k", wclass, "-w", "2", "-p", str(pidfile), "--timeout", "120", *extra),
        "--log-level",
        "debug",
        cwd=tmp_path,
        env=env,
        wait_workers=2,
    )
    # Both workers have imported the application before the test changes it.
    server.wait_log(r"Worker booted \(pid:", count=2, timeout=60)
    return server, pidfile


@pytest.mark.parametrize("reuse_port", [False, True], ids=["shared", "reuse-port"])
@pytest.mark.parametrize("wclass", worker_classes())
def test_usr2_then_term_of_the_old_master_loses_no_request(
    corral, tmp_path, upgraded, wclass, reuse_port
):
    server, pidfile = _start(corral, tmp_path, wclass, *(["--reuse-port"] if reuse_port else []))
    old_master = server.pid
    host, port = server.host, server.port
    fresh = RequestLoops(host, port, threads=3, keepalive=False, max_seconds=120)
    kept = RequestLoops(host, port, threads=3, keepalive=True, max_seconds=120)
    with fresh, kept:
        until(lambda: fresh.tally.sent > 50 and kept.tally.sent > 50, 60, "traffic")
        (tmp_path / "upgradeapp.py").write_text(APP.format(version="new code"))
        os.kill(old_master, signal.SIGUSR2)
        until(lambda: _read_pid(pidfile) not in (0, old_master), 60, "the new pid file")
        new_master = _read_pid(pidfile)
        upgraded.append(new_master)
        assert _read_pid(tmp_path / "corral.pid.oldbin") == old_master
        until(lambda: len(children_of(new_master)) == 2, 60, "the new master's workers")
        until(lambda: get_body(host, port, "/") == b"new code", 60, "the new code")
        # The operator stops the old master.
        assert server.stop(signal.SIGTERM, timeout=60) == 0
        before = fresh.tally.sent + kept.tally.sent
        until(lambda: fresh.tally.sent + kept.tally.sent > before + 50, 60, "more traffic")
    print(f"USR2 [{wclass}]: fresh {fresh.tally.summary()}; keep-alive {kept.tally.summary()}")
    assert fresh.tally.failed == 0, fresh.tally.examples
    assert kept.tally.failed == 0, kept.tally.examples
    assert alive(new_master) and _read_pid(pidfile) == new_master
    assert not (tmp_path / "corral.pid.oldbin").exists()
    assert {get_body(host, port, "/") for _ in range(10)} == {b"new code"}


def test_a_new_master_that_cannot_boot_leaves_the_old_one_serving(corral, tmp_path, upgraded):
    server, pidfile = _start(corral, tmp_path, "sync")
    (tmp_path / "corral.conf.py").write_text("workers = (\n")  # the new master fails on it
    os.kill(server.pid, signal.SIGUSR2)
    server.wait_log(
        r"The new master \(pid:\d+\) exited \(1\); this master goes on serving", timeout=60
    )
    assert _read_pid(pidfile) == server.pid
    assert not (tmp_path / "corral.pid.oldbin").exists()
    assert get_body(server.host, server.port, "/") == b"old"


def test_winch_stops_the_workers_and_hup_brings_them_back(corral, tmp_path):
    (tmp_path / "upgradeapp.py").write_text(APP.format(version="old"))
    server = corral(
        "upgradeapp:app", "-w", "2", cwd=tmp_path, new_session=True, wait_workers=2
    )  # no controlling terminal, like a service: WINCH cannot be a window resize
    old = set(server.wait_workers(2))
    os.kill(server.pid, signal.SIGWINCH)
    until(lambda: not server.worker_pids(), 60, "no workers")
    assert alive(server.pid)
    os.kill(server.pid, signal.SIGHUP)
    new = set(server.wait_workers(2, timeout=60))
    assert not new & old
    assert get_body(server.host, server.port, "/") == b"old"
