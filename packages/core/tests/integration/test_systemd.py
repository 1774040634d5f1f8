"""systemd without systemd: the notify protocol read from a real AF_UNIX datagram socket the
test binds, and socket activation with a listening socket handed over as descriptor 3."""

from __future__ import annotations

import os
import signal
import socket
import time

from corral_testing import get_body, read_response
from corral_testing.process import run_corral
from corral_testing.systemd import NotifySocket, socket_activated


def test_ready_reloading_ready_stopping_in_that_order(corral, tmp_path):
    notify = NotifySocket(tmp_path / "notify.sock")
    env = dict(os.environ, NOTIFY_SOCKET=notify.path)
    server = corral("behaviours:app", "-w", "2", env=env, wait_workers=2)
    ready = notify.wait_for("READY")
    assert ready["READY"] == "1" and ready["MAINPID"] == str(server.pid)
    assert ready["STATUS"] == "serving with 2 worker(s)"
    os.kill(server.pid, signal.SIGHUP)
    reloading = notify.wait_for("RELOADING")
    usec = int(reloading["MONOTONIC_USEC"])
    assert abs(usec / 1e6 - time.clock_gettime(time.CLOCK_MONOTONIC)) < 60
    assert notify.wait_for("READY")["READY"] == "1"
    server.wait_log("Reload complete")
    assert server.stop() == 0
    assert notify.wait_for("STOPPING")["STOPPING"] == "1"
    assert notify.order("READY", "RELOADING", "STOPPING") == [
        "READY",
        "RELOADING",
        "READY",
        "STOPPING",
    ]


def test_watchdog_pings_when_systemd_asks(corral, tmp_path):
    notify = NotifySocket(tmp_path / "notify.sock")
    env = dict(os.environ, NOTIFY_SOCKET=notify.path, WATCHDOG_USEC="400000")
    server = corral("behaviours:app", "-w", "1", env=env)
    first = notify.wait_for("WATCHDOG")
    notify.wait_for("WATCHDOG")
    notify.wait_for("WATCHDOG")
    assert first["WATCHDOG"] == "1"
    # The application does not see systemd's variables (it must not notify for us).
    with socket.create_connection((server.host, server.port), timeout=10) as sock:
        sock.sendall(b"GET /osenv HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        body = read_response(sock).body
    assert b"HOME" in body and b"NOTIFY_SOCKET" not in body and b"WATCHDOG_USEC" not in body


def test_socket_activation_serves_the_socket_handed_over_as_fd_3(corral):
    server, port = socket_activated(corral, "behaviours:app", "-w", "2", wait_workers=2)
    server.wait_log("Socket activation: 1 socket")
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"GET /hello HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        assert read_response(sock).body == b"hello"
    assert server.stop() == 0


def test_a_bad_listen_fds_is_one_line_and_no_worker():
    script = 'exec 3<&- 4<&-; export LISTEN_FDS=2 LISTEN_PID=$$; exec "$@"'
    result = run_corral("behaviours:app", prefix=("bash", "-c", script, "bash"))
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "LISTEN_FDS=2: descriptor 3 is not open" in output
    assert "Traceback" not in output and "Booting worker" not in output


def test_a_reload_keeps_serving_the_socket_systemd_passed(corral):
    server, port = socket_activated(corral, "behaviours:app", "-w", "1")
    before = set(server.worker_pids())
    os.kill(server.pid, signal.SIGHUP)
    server.wait_log("Reload complete", timeout=30)
    # The new worker serves descriptor 3; the configuration's default --bind is not bound.
    assert int(get_body("127.0.0.1", port, "/pid")) not in before
    assert server.log.count("Listening at:") == 1, server.log
    assert server.stop() == 0
