"""--reuse-port: each worker accepts from listening sockets of its own, the master keeps
them, so a replaced worker's queue waits for its replacement, and TTOU closes the socket of
the worker index that goes (load tests: test_retiring, test_reload, test_upgrade)."""

from __future__ import annotations

import os
import signal
import socket
from pathlib import Path

import pytest
from corral_testing import read_response, until, worker_classes
from corral_testing.process import children_of

_LISTEN = "0A"  # TCP_LISTEN in /proc/net/tcp


def listening_inodes(port: int) -> set[str]:
    """The socket inodes listening on ``port`` (every process's)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == _LISTEN and int(local.rsplit(":", 1)[1], 16) == port:
                found.add(inode)
    return found


def socket_inodes(pid: int) -> set[str]:
    """The socket inodes process ``pid`` holds."""
    held = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            held.add(target[8:-1])
    return held


def served_by(port: int) -> int:
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(b"GET /pid HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        return int(read_response(sock).body)


@pytest.mark.parametrize("wclass", worker_classes())
def test_each_worker_has_a_socket_of_its_own(corral, wclass):
    server = corral("behaviours:app", "-k", wclass, "-w", "3", "--reuse-port", wait_workers=3)
    workers = server.wait_workers(3)
    until(lambda: len(listening_inodes(server.port)) == 3, 30, "three listening sockets")
    sockets = listening_inodes(server.port)
    assert sockets <= socket_inodes(server.pid)  # the master keeps them all
    own = [socket_inodes(pid) & sockets for pid in workers]
    assert all(len(held) == 1 for held in own), own  # one each: the others closed
    assert len(set().union(*own)) == 3  # and not the same one
    # The kernel spreads fresh connections over the three.
    seen: set[int] = set()
    until(lambda: seen.add(served_by(server.port)) or seen == set(workers), 60, "all served")


def test_ttou_closes_the_socket_of_the_index_that_goes(corral):
    server = corral("behaviours:app", "-w", "3", "--reuse-port", wait_workers=3)
    server.wait_workers(3)
    until(lambda: len(listening_inodes(server.port)) == 3, 30, "three listening sockets")
    os.kill(server.pid, signal.SIGTTOU)
    until(lambda: len(server.worker_pids()) == 2, 60, "two workers")
    until(lambda: len(listening_inodes(server.port)) == 2, 30, "two listening sockets")
    os.kill(server.pid, signal.SIGTTIN)
    until(lambda: len(server.worker_pids()) == 3, 60, "three workers again")
    until(lambda: len(listening_inodes(server.port)) == 3, 30, "three listening sockets again")
    workers = server.worker_pids()
    seen: set[int] = set()
    until(lambda: seen.add(served_by(server.port)) or seen == set(workers), 60, "all served")


def test_connections_queued_for_a_dead_worker_wait_for_its_replacement(corral):
    """SIGKILL one of two workers: what the kernel queues on its socket meanwhile is
    served by the replacement, not reset (the master holds the socket)."""
    server = corral("behaviours:app", "-w", "2", "--reuse-port", wait_workers=2)
    victim = server.wait_workers(2)[0]
    os.kill(victim, signal.SIGKILL)
    # Fresh connections while it is dead: some hash to its socket. Each one is answered.
    socks = [socket.create_connection(("127.0.0.1", server.port), timeout=60) for _ in range(40)]
    try:
        for sock in socks:
            sock.sendall(b"GET /pid HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        pids = {int(read_response(sock).body) for sock in socks}
    finally:
        for sock in socks:
            sock.close()
    assert victim not in pids
    assert len(pids) == 2, pids  # the survivor and the replacement both answered


def test_a_reload_keeps_the_running_reuse_port_and_says_so(corral, tmp_path):
    conf = tmp_path / "corral.conf.py"
    conf.write_text("reuse_port = True\n")
    server = corral("-c", str(conf), "behaviours:app", "-w", "2", wait_workers=2)
    until(lambda: len(listening_inodes(server.port)) == 2, 30, "two listening sockets")
    conf.write_text("reuse_port = False\n")
    os.kill(server.pid, signal.SIGHUP)
    server.wait_log("Reload complete", timeout=60)
    assert "--reuse-port cannot change on a reload: restart corral" in server.log
    assert len(listening_inodes(server.port)) == 2
    assert len(children_of(server.pid)) == 2


def test_a_unix_socket_stays_shared_with_a_warning(corral, tmp_path):
    path = tmp_path / "s.sock"
    server = corral("behaviours:app", "-w", "2", "--reuse-port", "-b", f"unix:{path}")
    assert "--reuse-port: unix:" in server.log and "its workers share it" in server.log
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(30)
        sock.connect(str(path))
        sock.sendall(b"GET /hello HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        assert read_response(sock).body == b"hello"
