"""--log-level debug tells an operator what the server is doing: the booted configuration,
worker counts, workers booting and retiring, and connections closed at their deadlines."""

from __future__ import annotations

import signal
import socket

import pytest
from corral_testing import worker_classes


@pytest.mark.parametrize("wclass", worker_classes())
def test_debug_log_shows_config_workers_and_deadline_closes(corral, wclass):
    server = corral(
        "behaviours:app",
        *("-k", wclass, "-w", "2", "--log-level", "debug", "--header-timeout", "1"),
        wait_workers=2,
    )
    server.wait_log(r"Current configuration:")
    server.wait_log(r"  workers: 2 \(command line\)")
    server.wait_log(r"  header_timeout: 1 \(command line\)")
    server.wait_log(r"Worker booted \(pid:\d+, class \w+, max requests unlimited\)", count=2)
    # A client that connects and sends nothing is closed at --header-timeout, and said so.
    with socket.create_connection((server.host, server.port), timeout=10) as sock:
        assert sock.recv(1) == b""
    server.wait_log(r"Closing a connection at its deadline \(fd \d+\)")
    assert server.stop(signal.SIGTERM) == 0
    assert "Worker retiring (pid:" in server.log
    assert "exited with code 0" in server.log


def test_info_level_keeps_the_debug_lines_out(corral):
    server = corral("behaviours:app", "-w", "1", wait_workers=1)
    server.wait_log("Booting worker")
    server.stop()
    assert "Current configuration:" not in server.log
    assert "Worker booted" not in server.log
