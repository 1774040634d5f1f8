"""deploy/supervisor: corral.conf run by a real supervisord (Supervisor from PyPI).

The program file is included as it is, with only the program's path, the folder, the
application, the user, the port and the log file replaced. supervisord starts corral; a
request is served; ``supervisorctl signal HUP corral`` brings new workers (a request in
flight answered, only new pids serving after); ``supervisorctl stop corral`` sends
``stopsignal`` and the master exits by itself with status 0, its requests answered, within
``stopwaitsecs`` (which must outlast ``--graceful-timeout``).
"""

from __future__ import annotations

import configparser
import getpass
import re
import subprocess
import sys
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

PROGRAM = DEPLOY / "supervisor" / "corral.conf"
LOGFILE = "/var/log/corral/corral.log"
BIN = Path(sys.executable).parent

MAIN_CONF = """\
[unix_http_server]
file={tmp}/supervisor.sock

[supervisord]
logfile={tmp}/supervisord.log
pidfile={tmp}/supervisord.pid
childlogdir={tmp}
nodaemon=true

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://{tmp}/supervisor.sock

[include]
files = {tmp}/conf.d/*.conf
"""


class Supervisor:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.conf = tmp / "supervisord.conf"
        self.conf.write_text(MAIN_CONF.format(tmp=tmp))
        self.proc = subprocess.Popen(
            [str(BIN / "supervisord"), "-c", str(self.conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def ctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN / "supervisorctl"), "-c", str(self.conf), *args],
            capture_output=True,
            text=True,
            timeout=120,
        )

    @property
    def log(self) -> str:
        path = self.tmp / "supervisord.log"
        return path.read_text() if path.exists() else ""

    def shut_down(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()  # supervisord stops its programs, then exits
            self.proc.wait(60)


@pytest.fixture
def supervisor(tmp_path: Path) -> Iterator[Supervisor]:
    (tmp_path / "conf.d").mkdir()
    program = render(
        PROGRAM,
        {
            **app_replacements(),
            "user=corral": f"user={getpass.getuser()}",
            ADDRESS: "127.0.0.1:0",
            LOGFILE: str(tmp_path / "corral.log"),
        },
    )
    (tmp_path / "conf.d" / "corral.conf").write_text(program)
    sup = Supervisor(tmp_path)
    try:
        yield sup
    finally:
        sup.shut_down()


def _program() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(PROGRAM)
    return parser["program:corral"]


def test_stopwaitsecs_outlasts_the_graceful_timeout_and_only_the_master_gets_term():
    program = _program()
    graceful = int(option(corral_arguments(program["command"]), "--graceful-timeout"))
    assert graceful + 5 <= int(program["stopwaitsecs"]) <= graceful + 30
    assert program["stopsignal"] == "TERM"
    assert program.getboolean("stopasgroup") is False  # the master retires its workers
    assert program.getboolean("killasgroup") is True  # a KILL reaches the workers too
    assert program["user"] == "corral"


def test_supervisord_starts_reloads_and_stops_corral(supervisor, tmp_path):
    workers = int(option(corral_arguments(_program()["command"]), "--workers", "-w"))
    corral_log = tmp_path / "corral.log"

    def log() -> str:
        return corral_log.read_text() if corral_log.exists() else ""

    until(lambda: "RUNNING" in supervisor.ctl("status", "corral").stdout, 60, "RUNNING")
    until(lambda: log().count("Booting worker") >= workers, 60, "the workers to boot")
    port = int(re.findall(r"Listening at: http://127\.0\.0\.1:(\d+)", log())[0])
    master = int(supervisor.ctl("pid", "corral").stdout)
    assert f"Listening at: http://127.0.0.1:{port} ({master})" in log()
    assert get_body("127.0.0.1", port, "/hello") == b"hello"

    old = set(children_of(master))
    assert len(old) == workers
    held = start_request("127.0.0.1", port)
    result = supervisor.ctl("signal", "HUP", "corral")
    assert result.stdout.strip() == "corral: signalled", result
    until(lambda: "Reload complete" in log(), 60, "the reload")
    assert_answered(held)
    new = wait_new_workers(master, old, workers, "127.0.0.1", port)
    assert int(supervisor.ctl("pid", "corral").stdout) == master  # reloaded, not restarted

    held = start_request("127.0.0.1", port)
    result = supervisor.ctl("stop", "corral")  # returns once corral has exited
    assert result.stdout.strip() == "corral: stopped", result
    assert_answered(held)
    # Exited by itself (status 0), not killed at stopwaitsecs; no worker left behind.
    assert "stopped: corral (exit status 0)" in supervisor.log, supervisor.log
    assert not alive(master) and not [pid for pid in new if alive(pid)]
    assert "Shutting down: Master" in log()
