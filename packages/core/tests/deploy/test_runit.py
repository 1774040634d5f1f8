"""deploy/runit: the corral service folder (run, log/run) supervised by a real runsv.

The scripts run as they are, with only the program's path, the folder, the application,
the users, the address's port and the log folder replaced. runsv starts corral and its
svlogd; a request is served; ``sv hup`` brings new workers under the same master (a
request in flight answered); ``sv term`` stops the master gracefully (a request in flight
answered, no worker left) and runsv starts a new one, which serves; ``sv down`` stops
it for good within ``--graceful-timeout`` plus a margin, no worker left behind.
"""

from __future__ import annotations

import getpass
import grp
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from corral_testing import get_body, until
from corral_testing.deploy import (
    ADDRESS,
    DEPLOY,
    app_replacements,
    assert_answered,
    corral_arguments,
    option,
    render,
    start_request,
    wait_new_workers,
)
from corral_testing.process import alive, children_of

SERVICE = DEPLOY / "runit" / "corral"
LOG_FOLDER = "/var/log/corral"
MARGIN = 10  # seconds past --graceful-timeout that `sv -w` waits for a stop


def _identity() -> str:
    """chpst -u as this test's user: the same identity root switches to (chpst cannot call
    setgroups unless root, so elsewhere the scripts run without -u)."""
    if os.geteuid() != 0:
        return "chpst "
    return f"chpst -u {getpass.getuser()}:{grp.getgrgid(os.getgid()).gr_name} "


class Runsv:
    def __init__(self, folder: Path, log_folder: Path) -> None:
        self.folder = folder
        self.log_folder = log_folder
        self.proc = subprocess.Popen(
            ["runsv", str(folder)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    def sv(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["sv", *args, str(self.folder)], capture_output=True, text=True, timeout=120
        )

    @property
    def log(self) -> str:
        current = self.log_folder / "current"
        return current.read_text() if current.exists() else ""

    def master(self) -> int:
        """The pid runsv started (and supervises): corral's master, if run execs it."""
        path = self.folder / "supervise" / "pid"
        text = path.read_text().strip() if path.exists() else ""
        return int(text) if text else 0

    def shut_down(self) -> None:
        self.sv("exit")  # stop corral and its logger, then runsv exits
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


@pytest.fixture
def runsv(tmp_path: Path) -> Iterator[Runsv]:
    folder = tmp_path / "service" / "corral"
    shutil.copytree(SERVICE, folder, ignore=shutil.ignore_patterns("README.md"))
    log_folder = tmp_path / "log"
    log_folder.mkdir()
    user = {"chpst -u corral:corral ": _identity()}
    run = render(SERVICE / "run", {**app_replacements(), **user, ADDRESS: "127.0.0.1:0"})
    (folder / "run").write_text(run)
    logger = {"chpst -u _runit-log ": _identity(), LOG_FOLDER: str(log_folder)}
    (folder / "log" / "run").write_text(render(SERVICE / "log" / "run", logger))
    service = Runsv(folder, log_folder)
    try:
        yield service
    finally:
        service.shut_down()


def _port(log: str, pid: int) -> int:
    found = re.findall(rf"Listening at: http://127\.0\.0\.1:(\d+) \({pid}\)", log)
    return int(found[0]) if found else 0


def test_the_scripts_are_executable_and_exec_their_programs():
    for script in (SERVICE / "run", SERVICE / "log" / "run"):
        assert os.access(script, os.X_OK), script
        assert script.read_text().startswith("#!/bin/sh\n")
        last = script.read_text().strip().splitlines()[-1]
        assert last.startswith("exec chpst -u "), last  # runsv's child is the program


def test_runsv_starts_reloads_restarts_and_stops_corral(runsv):
    command = (SERVICE / "run").read_text().strip().splitlines()[-1]
    args = corral_arguments(command.removeprefix("exec chpst -u corral:corral "))
    workers = int(option(args, "--workers", "-w"))
    wait = str(int(option(args, "--graceful-timeout")) + MARGIN)

    until(lambda: runsv.master() and _port(runsv.log, runsv.master()), 60, "corral to listen")
    master = runsv.master()
    port = _port(runsv.log, master)
    until(lambda: len(children_of(master)) >= workers, 60, "the workers")
    until(lambda: get_body("127.0.0.1", port, "/hello") == b"hello", 60, "an answer")
    assert runsv.sv("status").stdout.startswith(f"run: {runsv.folder}: (pid {master})")

    old = set(children_of(master))
    held = start_request("127.0.0.1", port)
    assert runsv.sv("hup").returncode == 0
    until(lambda: "Reload complete" in runsv.log, 60, "the reload")
    assert_answered(held)
    new = wait_new_workers(master, old, workers, "127.0.0.1", port)
    assert runsv.master() == master  # reloaded, not restarted

    # sv term: a graceful stop; runsv starts the service again (it is still wanted up).
    held = start_request("127.0.0.1", port)
    assert runsv.sv("term").returncode == 0
    assert_answered(held)
    until(lambda: runsv.master() not in (0, master), 60, "runsv to start corral again")
    assert not [pid for pid in {master, *new} if alive(pid)]
    master = runsv.master()
    until(lambda: _port(runsv.log, master), 60, "the new master to listen")
    port = _port(runsv.log, master)
    until(lambda: len(children_of(master)) >= workers, 60, "the new master's workers")
    until(lambda: get_body("127.0.0.1", port, "/hello") == b"hello", 60, "an answer")

    # sv down: stop it for good, waiting past --graceful-timeout at the most.
    workers_now = set(children_of(master))
    held = start_request("127.0.0.1", port)
    result = runsv.sv("-w", wait, "down")
    assert result.stdout.startswith(f"ok: down: {runsv.folder}: "), result
    assert_answered(held)
    assert not [pid for pid in {master, *workers_now} if alive(pid)]
    # Each master stopped in order (runsv keeps no exit status: the log says so) and runsv
    # leaves the service down.
    assert runsv.log.count("Shutting down: Master") == 2, runsv.log
    assert (runsv.folder / "supervise" / "stat").read_text().strip() == "down"
