"""systemd without systemd: the notify protocol read from a real AF_UNIX datagram socket the
test binds, and socket activation with a listening socket handed over as descriptor 3."""

from __future__ import annotations

import os
import signal
import socket
import time

from corral_testing import read_response
from corral_testing.process import run_corral


class NotifySocket:
    def __init__(self, path) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.path = str(path)
        self.messages: list[dict[str, str]] = []

    def wait_for(self, key: str, timeout: float = 30.0) -> dict[str, str]:
        """The next message (after those already read) that carries ``key``."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"no {key} in {self.messages}"
            self.sock.settimeout(remaining)
            data = self.sock.recv(4096).decode()
            message = dict(line.split("=", 1) for line in data.splitlines() if "=" in line)
            self.messages.append(message)
            if key in message:
                return message


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
    order = [k for m in notify.messages for k in ("READY", "RELOADING", "STOPPING") if k in m]
    assert order == ["READY", "RELOADING", "READY", "STOPPING"]


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


def _as_systemd(fd: int, count: int) -> tuple[str, ...]:
    """A prefix that hands descriptor ``fd`` over as 3 and sets LISTEN_FDS and LISTEN_PID
    as systemd does (bash's $$ is the pid that its exec keeps)."""
    script = f'exec 3<&{fd}; export LISTEN_FDS={count} LISTEN_PID=$$; exec "$@"'
    return ("bash", "-c", script, "bash")


def test_socket_activation_serves_the_socket_handed_over_as_fd_3(corral):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    port = listener.getsockname()[1]
    server = corral(
        "behaviours:app",
        "-w",
        "2",
        bind=None,
        pass_fds=(listener.fileno(),),
        prefix=_as_systemd(listener.fileno(), 1),
        wait_workers=2,
    )
    listener.close()  # only corral holds it now
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
