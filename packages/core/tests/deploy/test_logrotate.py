"""deploy/logrotate: the config run by a real ``logrotate -f`` on a live corral.

The config is used as it is, with only the log folder and the pid file's path replaced.
corral writes ``--access-logfile`` under requests that never stop; logrotate renames the
file and its postrotate sends USR1 to the master named in the pid file. Every request
answered has its line, in the rotated file or in the new one (their counts add up to the
answers), and the new file gets the lines of requests after the rotation.
"""

from __future__ import annotations

import subprocess

from corral_testing import until
from corral_testing.churn import RequestLoops
from corral_testing.deploy import DEPLOY, render

CONFIG = DEPLOY / "logrotate" / "corral"
LOG_FOLDER = "/var/log/corral"
PIDFILE = "/run/corral/corral.pid"


def _lines(path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def test_a_forced_rotation_loses_no_access_log_line(corral, tmp_path):
    logs = tmp_path / "log"
    logs.mkdir()
    pidfile = tmp_path / "corral.pid"
    config = tmp_path / "logrotate.conf"
    config.write_text(render(CONFIG, {LOG_FOLDER: str(logs), PIDFILE: str(pidfile)}))
    config.chmod(0o644)  # logrotate ignores a config others may write
    access, rotated = logs / "access.log", logs / "access.log.1"
    server = corral(
        "behaviours:app",
        "-w",
        "2",
        "--access-logfile",
        str(access),
        "--pid",
        str(pidfile),
        wait_workers=2,
    )

    with RequestLoops(server.host, server.port, threads=4) as loops:
        assert loops.wait_for(lambda t: t.sent >= 100, 60), loops.tally.summary()
        result = subprocess.run(
            ["logrotate", "-f", "-s", str(tmp_path / "state"), str(config)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        server.wait_log("Handling signal: usr1", timeout=30)
        # Requests go on after the reopen, into the new file.
        sent = loops.tally.sent
        assert loops.wait_for(lambda t: t.sent >= sent + 100, 60), loops.tally.summary()
        tally = loops.stop()

    assert tally.failed == 0, tally.summary()
    answered = tally.sent
    # A line is written as its response is sent: wait (bounded) for the last ones.
    until(lambda: len(_lines(rotated)) + len(_lines(access)) >= answered, 30, "the last lines")
    old, new = _lines(rotated), _lines(access)
    assert len(old) + len(new) == answered, (len(old), len(new), answered)
    assert len(old) >= 100 and len(new) >= 100, (len(old), len(new))
    assert all('"GET /pid HTTP/1.1" 200' in line for line in old + new)
    assert not (logs / "access.log.1.gz").exists()  # delaycompress: .1 stays as it is
    assert server.stop() == 0
