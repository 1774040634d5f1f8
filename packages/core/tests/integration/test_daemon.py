"""-D/--daemon: the command returns 0 at once, the daemon (its own session, no terminal)
writes the pid file and serves, and TERM stops it; start-up errors are still reported."""

from __future__ import annotations

import os
import re
import signal
import socket
import time

from corral_testing import read_response
from corral_testing.process import alive, run_corral


def test_daemon_detaches_serves_and_stops_on_term(tmp_path):
    pidfile = tmp_path / "corral.pid"
    log = tmp_path / "error.log"
    started = time.monotonic()
    argv = ["-D", "--pid", str(pidfile), "-b", "127.0.0.1:0", "--error-logfile", str(log)]
    result = run_corral(*argv, "-w", "2", "behaviours:app", timeout=60)
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started < 30
    deadline = time.monotonic() + 30
    while not (pidfile.exists() and pidfile.read_text().strip()):
        assert time.monotonic() < deadline, log.read_text() if log.exists() else ""
        time.sleep(0.05)
    pid = int(pidfile.read_text())
    try:
        assert alive(pid)
        assert os.getsid(pid) != os.getsid(0)  # its own session: no terminal of ours
        match = None
        while match is None:
            assert time.monotonic() < deadline
            match = re.search(r"Listening at: http://([\d.]+):(\d+)", log.read_text())
            time.sleep(0.05)
        address = (match.group(1), int(match.group(2)))
        while True:
            try:
                with socket.create_connection(address, timeout=10) as sock:
                    sock.sendall(b"GET /hello HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
                    assert read_response(sock).body == b"hello"
                break
            except ConnectionRefusedError:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        os.kill(pid, signal.SIGTERM)
        while alive(pid):
            assert time.monotonic() < deadline + 30, "the daemon did not stop"
            time.sleep(0.05)
        assert not pidfile.exists()
        assert "Shutting down: Master" in log.read_text()
    finally:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)


def test_a_daemon_that_cannot_bind_says_so_before_detaching():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_corral("-D", "-b", f"127.0.0.1:{port}", "behaviours:app")
    assert result.returncode == 1
    assert "address already in use" in result.stderr and "Traceback" not in result.stderr
