"""--user/--group as root: workers switch identity before they import the application, and
still write their logs; bad identities are refused at start with one line."""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import signal
import socket
import tempfile
import time
from pathlib import Path

import pytest
from corral_testing import read_response, worker_classes
from corral_testing.process import run_corral

APP = """
import os

def app(environ, start_response):
    body = f"{os.getuid()} {os.getgid()} {sorted(os.getgroups())}".encode()
    start_response("200 OK", [("Content-Length", str(len(body)))])
    return [body]
"""

NOBODY = pwd.getpwnam("nobody")
NOGROUP = grp.getgrnam("nogroup")
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="switching identity needs root")


@pytest.fixture
def public_dir():
    """A folder the unprivileged workers can read (pytest's tmp_path is private to root)."""
    path = Path(tempfile.mkdtemp(prefix="corral-privileges-"))
    path.chmod(0o755)
    (path / "whoami.py").write_text(APP)
    (path / "whoami.py").chmod(0o644)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _status_ids(pid: int) -> tuple[int, int]:
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return int(fields["Uid"].split()[0]), int(fields["Gid"].split()[0])


@needs_root
@pytest.mark.parametrize("wclass", worker_classes())
def test_workers_run_as_the_user_and_group_and_serve(corral, public_dir, wclass):
    logs = public_dir / "logs"
    logs.mkdir()
    os.chown(logs, NOBODY.pw_uid, NOGROUP.gr_gid)  # where the workers reopen their logs
    log = logs / "access.log"
    server = corral(
        "whoami:app",
        *("-k", wclass, "-w", "2", "--user", "nobody", "--group", "nogroup"),
        *("--access-logfile", str(log)),
        cwd=public_dir,
        wait_workers=2,
    )

    def get() -> object:
        with socket.create_connection((server.host, server.port), timeout=10) as sock:
            sock.sendall(b"GET /who HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            return read_response(sock)

    resp = get()
    assert resp.status == 200
    assert resp.body == f"{NOBODY.pw_uid} {NOGROUP.gr_gid} []".encode()
    wanted = (NOBODY.pw_uid, NOGROUP.gr_gid)
    deadline = time.monotonic() + 20  # a worker switches as it boots
    while any(_status_ids(pid) != wanted for pid in server.worker_pids()):
        assert time.monotonic() < deadline, [_status_ids(p) for p in server.worker_pids()]
        time.sleep(0.05)
    assert _status_ids(server.pid) == (0, 0)  # the master keeps its identity
    # The log file was handed over: after a rotation and USR1 the workers reopen it.
    assert log.stat().st_uid == NOBODY.pw_uid
    log.rename(logs / "access.log.1")
    os.kill(server.pid, signal.SIGUSR1)
    server.wait_log("reopening log files")
    deadline = time.monotonic() + 20
    while not (log.exists() and "/who" in log.read_text()):
        assert time.monotonic() < deadline, server.log
        get()
        time.sleep(0.1)
    assert "cannot reopen" not in server.log
    assert server.stop() == 0


@needs_root
def test_initgroups_gives_the_users_supplementary_groups(corral, public_dir):
    server = corral("whoami:app", "-w", "1", "--user", "nobody", "--initgroups", cwd=public_dir)
    with socket.create_connection((server.host, server.port), timeout=10) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        body = read_response(sock).body.decode()
    uid, gid, groups = body.split(" ", 2)
    # --user alone: the user's primary group too; --initgroups: its groups, not root's.
    assert int(uid) == NOBODY.pw_uid and int(gid) == NOBODY.pw_gid
    assert groups == str(sorted(os.getgrouplist("nobody", NOBODY.pw_gid)))


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (("--user", "no-such-user-here"), "no such user 'no-such-user-here'"),
        (("--group", "no-such-group-here"), "no such group 'no-such-group-here'"),
    ],
)
def test_an_unknown_identity_is_refused_at_start(public_dir, flags, message):
    result = run_corral(*flags, "-b", "127.0.0.1:0", "whoami:app", cwd=public_dir)
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert message in output and "Traceback" not in output
    assert len(output.strip().splitlines()) == 1


def test_umask_sets_the_unix_socket_files_mode(corral, public_dir):
    path = public_dir / "corral.sock"
    server = corral("whoami:app", "--umask", "0o007", cwd=public_dir, bind=f"unix:{path}")
    assert path.stat().st_mode & 0o777 == 0o770
    server.stop()
