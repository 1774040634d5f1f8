"""HUP: the configuration and the application are read again and every worker is replaced,
with no request refused or cut; a reload that cannot work leaves the running workers serving.
"""

from __future__ import annotations

import os
import signal

import pytest
from corral_testing import get_body, until, worker_classes
from corral_testing.churn import RequestLoops

APP = """
import os

VERSION = {version!r}

def app(environ, start_response):
    path = environ["PATH_INFO"]
    body = str(os.getpid()) if path == "/pid" else VERSION
    start_response("200 OK", [("Content-Length", str(len(body)))])
    return [body.encode()]
"""


@pytest.fixture
def app_dir(tmp_path):
    (tmp_path / "reloadapp.py").write_text(APP.format(version="one"))
    return tmp_path


def _start(corral, app_dir, *args: str, workers: int = 2):
    """Start and wait until every worker has imported the application (the debug log says
    so), so a module changed afterwards is not what the first workers import."""
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    count = () if (app_dir / "corral.conf.py").exists() else ("-w", str(workers))
    server = corral(
        "reloadapp:app",
        *count,
        *args,
        "--log-level",
        "debug",
        cwd=app_dir,
        env=env,
        wait_workers=workers,
    )
    server.wait_log(r"Worker booted \(pid:", count=workers, timeout=60)
    return server


@pytest.mark.parametrize("reuse_port", [False, True], ids=["shared", "reuse-port"])
@pytest.mark.parametrize("wclass", worker_classes())
def test_hup_under_load_serves_the_new_code_and_loses_no_request(
    corral, app_dir, wclass, reuse_port
):
    extra = ["--reuse-port"] if reuse_port else []
    server = _start(corral, app_dir, "-k", wclass, "--timeout", "120", *extra)  # (loaded)
    until(lambda: get_body(server.host, server.port, "/") == b"one", 20, "the first version")
    old = set(server.wait_workers(2))
    fresh = RequestLoops(server.host, server.port, threads=3, keepalive=False, max_seconds=90)
    kept = RequestLoops(server.host, server.port, threads=3, keepalive=True, max_seconds=90)
    with fresh, kept:
        until(lambda: fresh.tally.sent > 50 and kept.tally.sent > 50, 60, "traffic")
        (app_dir / "reloadapp.py").write_text(APP.format(version="second"))
        os.kill(server.pid, signal.SIGHUP)
        server.wait_log("Reload complete: 2 new worker", timeout=60)
        until(lambda: not old & set(server.worker_pids()), 60, "the old workers to exit")
        before = fresh.tally.sent + kept.tally.sent
        until(lambda: fresh.tally.sent + kept.tally.sent > before + 50, 60, "more traffic")
    print(f"HUP [{wclass}]: fresh {fresh.tally.summary()}; keep-alive {kept.tally.summary()}")
    assert fresh.tally.failed == 0, fresh.tally.examples
    assert kept.tally.failed == 0, kept.tally.examples
    new = set(server.worker_pids())
    assert len(new) == 2 and not new & old
    assert get_body(server.host, server.port, "/") == b"second"
    # Requests were answered by old workers before, and by new ones after.
    seen = fresh.tally.pids | kept.tally.pids
    assert seen & old and seen & new


def test_hup_applies_a_changed_config_file(corral, app_dir):
    (app_dir / "corral.conf.py").write_text("workers = 2\n")
    server = _start(corral, app_dir)
    (app_dir / "corral.conf.py").write_text("workers = 3\n")
    os.kill(server.pid, signal.SIGHUP)
    server.wait_log("Reload complete: 3 new worker", timeout=60)
    until(lambda: len(server.worker_pids()) == 3, 60, "three workers")


def test_a_config_file_that_no_longer_loads_leaves_the_workers_serving(corral, app_dir):
    (app_dir / "corral.conf.py").write_text("workers = 2\n")
    server = _start(corral, app_dir)
    old = set(server.wait_workers(2))
    (app_dir / "corral.conf.py").write_text("workers = (\n")  # a syntax error
    os.kill(server.pid, signal.SIGHUP)
    server.wait_log("Reload failed, the running workers go on serving: ", timeout=60)
    assert set(server.worker_pids()) == old
    assert get_body(server.host, server.port, "/") == b"one"
    assert "Traceback" not in server.log.split("Reload failed", 1)[1]


def test_an_application_that_no_longer_imports_leaves_the_workers_serving(corral, app_dir):
    server = _start(corral, app_dir)
    old = set(server.wait_workers(2))
    (app_dir / "reloadapp.py").write_text("import a_module_that_does_not_exist\n")
    os.kill(server.pid, signal.SIGHUP)
    server.wait_log(
        r"Reload failed, the running workers go on serving: a new worker could not", timeout=60
    )
    until(lambda: set(server.worker_pids()) == old, 60, "only the old workers")
    assert get_body(server.host, server.port, "/") == b"one"
    # The master is still whole: a fixed application reloads.
    (app_dir / "reloadapp.py").write_text(APP.format(version="fixed"))
    os.kill(server.pid, signal.SIGHUP)
    server.wait_log("Reload complete: 2 new worker", timeout=60)
    until(lambda: get_body(server.host, server.port, "/") == b"fixed", 60, "the fixed version")


def test_with_preload_hup_replaces_the_workers_but_not_the_code(corral, app_dir):
    server = _start(corral, app_dir, "--preload")
    old = set(server.wait_workers(2))
    (app_dir / "reloadapp.py").write_text(APP.format(version="second"))
    os.kill(server.pid, signal.SIGHUP)
    server.wait_log("Reload complete: 2 new worker", timeout=60)
    until(lambda: not old & set(server.worker_pids()), 60, "the old workers to exit")
    assert (
        get_body(server.host, server.port, "/") == b"one"
    )  # imported once, in the master: documented
