"""deploy/systemd: corral.service and corral.socket as systemd reads and runs them.

``systemd-analyze verify`` judges both files. Then the test plays systemd with the values
the files hold: the socket's ``ListenStream`` is bound and handed over as descriptor 3
(``LISTEN_FDS``/``LISTEN_PID``), ``ExecStart``'s command line runs from
``WorkingDirectory``, ``NOTIFY_SOCKET`` is a datagram socket the test reads (``READY=1``,
``RELOADING=1`` after ``ExecReload``, ``STOPPING=1`` after ``KillSignal``), and the stop
must end, with a request in flight answered, within ``TimeoutStopSec``.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess

from corral_testing import get_body
from corral_testing.deploy import (
    ADDRESS,
    APPLICATION,
    DEPLOY,
    app_replacements,
    assert_answered,
    corral_arguments,
    option,
    render,
    start_request,
    unit_file,
    wait_new_workers,
)
from corral_testing.process import FIXTURE_APPS, alive
from corral_testing.systemd import NotifySocket, socket_activated

SERVICE = DEPLOY / "systemd" / "corral.service"
SOCKET = DEPLOY / "systemd" / "corral.socket"
PIDFILE = "/run/corral/corral.pid"


def _seconds(value: str) -> int:
    return int(value.removesuffix("s"))


def test_systemd_analyze_verify_accepts_both_units(tmp_path):
    # verify checks that ExecStart's program exists: this environment's corral stands in.
    (tmp_path / SOCKET.name).write_text(SOCKET.read_text())
    (tmp_path / SERVICE.name).write_text(render(SERVICE, app_replacements()))
    result = subprocess.run(
        ["systemd-analyze", "verify", str(tmp_path / SOCKET.name), str(tmp_path / SERVICE.name)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    # Not only the exit status: an unknown key or a bad value is only a warning to systemd.
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_the_service_is_notify_reloads_by_hup_and_outwaits_the_graceful_timeout():
    unit = unit_file(SERVICE)
    service = unit["Service"]
    assert service["Type"] == ["notify"]
    assert service["ExecReload"] == ["/bin/kill -s HUP $MAINPID"]
    assert service["KillMode"] == ["mixed"] and service["KillSignal"] == ["SIGTERM"]
    assert "corral.socket" in unit["Unit"]["Requires"][0].split()
    assert "corral.socket" in unit["Unit"]["After"][0].split()
    assert service["User"] == service["Group"] == ["corral"]  # a user of its own, not root
    args = corral_arguments(service["ExecStart"][0])
    assert "-b" not in args and "--bind" not in args  # the socket unit's address, not corral's
    graceful = int(option(args, "--graceful-timeout"))
    # systemd's KILL must come after corral's own deadline, with a margin for the master.
    assert graceful + 5 <= _seconds(service["TimeoutStopSec"][0]) <= graceful + 30
    assert option(args, "--pid") == PIDFILE and unit["Service"]["RuntimeDirectory"] == ["corral"]
    assert unit_file(SOCKET)["Socket"]["ListenStream"] == [ADDRESS]


def test_corral_serves_reloads_and_stops_as_systemd_runs_the_units(corral, tmp_path):
    socket_unit = unit_file(SOCKET)["Socket"]
    host, _ = socket_unit["ListenStream"][0].rsplit(":", 1)  # the file's host, a free port

    pidfile = tmp_path / "corral.pid"
    rendered = tmp_path / SERVICE.name
    rendered.write_text(render(SERVICE, {**app_replacements(), PIDFILE: str(pidfile)}))
    service = unit_file(rendered)["Service"]
    args = corral_arguments(service["ExecStart"][0])
    assert APPLICATION not in args and service["WorkingDirectory"] == [str(FIXTURE_APPS)]
    workers = int(option(args, "--workers", "-w"))

    notify = NotifySocket(tmp_path / "notify.sock")
    server, port = socket_activated(
        corral,
        *args,
        host=host,
        backlog=int(socket_unit["Backlog"][0]),
        cwd=service["WorkingDirectory"][0],
        env=dict(os.environ, NOTIFY_SOCKET=notify.path),
        new_session=True,
        wait_workers=workers,
    )
    ready = notify.wait_for("READY")
    assert ready["MAINPID"] == str(server.pid) == pidfile.read_text().strip()
    assert ready["STATUS"] == f"serving with {workers} worker(s)"
    assert get_body(host, port, "/hello") == b"hello"

    # systemctl reload: ExecReload, with $MAINPID as systemd expands it.
    old = set(server.worker_pids())
    assert len(old) == workers
    held = start_request(host, port)
    reload = service["ExecReload"][0].replace("$MAINPID", str(server.pid))
    subprocess.run(shlex.split(reload), check=True, timeout=30)
    notify.wait_for("RELOADING")
    notify.wait_for("READY")
    assert_answered(held)
    new = wait_new_workers(server.pid, old, workers, host, port)

    # systemctl stop: KillSignal to the master only (KillMode=mixed), then KILL to what is
    # left after TimeoutStopSec: the master must be gone before, its workers with it.
    held = start_request(host, port)
    os.kill(server.pid, signal.Signals[service["KillSignal"][0]])
    notify.wait_for("STOPPING")
    assert_answered(held)
    assert server.proc.wait(_seconds(service["TimeoutStopSec"][0])) == 0
    assert not [pid for pid in new if alive(pid)]
    assert notify.order("READY", "RELOADING", "STOPPING") == [
        "READY",
        "RELOADING",
        "READY",
        "STOPPING",
    ]
