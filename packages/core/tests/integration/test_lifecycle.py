"""The master and its workers: respawn, timeouts, signals, max-requests, orphaned workers."""

from __future__ import annotations

import os
import signal
import threading
import time

from corral_testing import Client, CorralProcess, until


def _get(server, path: str, timeout: float = 10.0):
    with server.connect(timeout=timeout) as sock:
        client = Client(sock)
        client.send(f"GET {path} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
        return client.response()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purposes.
    with open(f"/proc/{pid}/stat") as f:
        return f.read().split(") ", 1)[1][0] != "Z"


def test_worker_killed_with_sigkill_is_respawned_and_serves(corral):
    server = corral("behaviours:app", "-w", "2", wait_workers=2)
    old = set(server.wait_workers(2))
    victim = next(iter(old))
    os.kill(victim, signal.SIGKILL)
    new = server.wait_workers(2, exclude={victim})
    assert victim not in new and len(new) == 2
    server.wait_log(rf"Worker \(pid:{victim}\) was sent SIGKILL")
    for _ in range(4):
        assert _get(server, "/hello").body == b"hello"


def test_term_lets_the_in_flight_request_finish(corral, tmp_path):
    server = corral("behaviours:app", "-w", "1", "--graceful-timeout", "60")
    result = {}
    mark = tmp_path / "in-app"

    def slow():
        result["resp"] = _get(server, f"/sleep?s=2&mark={mark}", timeout=60)

    thread = threading.Thread(target=slow)
    thread.start()
    until(mark.exists, 30, "the request in the app")
    code = server.stop(signal.SIGTERM, timeout=60)
    thread.join(10)
    assert code == 0
    assert result["resp"].status == 200 and result["resp"].body == b"slept"


def test_int_is_a_fast_stop(corral, tmp_path):
    server = corral("behaviours:app", "-w", "1", "--graceful-timeout", "300")
    mark = tmp_path / "in-app"
    path = f"/sleep?s=300&mark={mark}"
    threading.Thread(target=lambda: _get_quiet(server, path), daemon=True).start()
    until(mark.exists, 30, "the request in the app")
    started = time.monotonic()
    assert server.stop(signal.SIGINT, timeout=120) == 0
    # A graceful stop would wait for the request (300 s): INT did not.
    assert time.monotonic() - started < 120


def _get_quiet(server, path):
    try:
        _get(server, path, timeout=30)
    except OSError:
        pass


def test_silent_worker_is_killed_after_timeout_and_replaced(corral):
    server = corral("behaviours:app", "-w", "1", "--timeout", "2", wait_workers=1)
    first = server.wait_workers(1)[0]
    threading.Thread(target=lambda: _get_quiet(server, "/sleep?s=30"), daemon=True).start()
    server.wait_log(rf"WORKER TIMEOUT \(pid:{first}\)", timeout=15)
    server.wait_workers(1, exclude={first}, timeout=10)
    assert _get(server, "/hello").body == b"hello"


def test_workers_exit_when_the_master_dies(corral):
    server = corral("behaviours:app", "-w", "2", wait_workers=2)
    workers = server.wait_workers(2)
    os.kill(server.pid, signal.SIGKILL)
    server.proc.wait(5)
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in workers):
        assert time.monotonic() < deadline, "workers outlived their master"
        time.sleep(0.1)


def test_max_requests_restarts_the_worker(corral):
    server = corral("behaviours:app", "-w", "1", "--max-requests", "3", wait_workers=1)
    pids = [_get(server, "/pid").body for _ in range(7)]
    assert len(set(pids)) >= 3  # 3 requests per worker life
    assert pids[0] == pids[1] == pids[2] and pids[3] != pids[2]
    assert "Autorestarting worker after current request." in server.log


def test_ttin_and_ttou_change_the_number_of_workers(corral):
    server = corral("behaviours:app", "-w", "1", wait_workers=1)
    os.kill(server.pid, signal.SIGTTIN)
    server.wait_workers(2)
    os.kill(server.pid, signal.SIGTTOU)
    deadline = time.monotonic() + 10
    while len(server.worker_pids()) != 1:
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_heartbeat_uses_no_temporary_files(corral, tmp_path):
    env = dict(os.environ, TMPDIR=str(tmp_path))
    server = corral("behaviours:app", "-w", "2", env=env, wait_workers=2)
    for pid in [server.pid, *server.wait_workers(2)]:
        targets = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
        assert not [t for t in targets if t.startswith(str(tmp_path)) or "(deleted)" in t], targets
    assert _get(server, "/hello").status == 200


def test_pidfile_is_written_and_removed(corral, tmp_path):
    pidfile = tmp_path / "corral.pid"
    server = corral("behaviours:app", "-p", str(pidfile))
    assert pidfile.read_text().strip() == str(server.pid)
    server.stop()
    assert not pidfile.exists()


def test_python_dash_m_corral_runs(tmp_path):
    # CorralProcess runs "python -m corral"; the console script is the same main().
    with CorralProcess("behaviours:app") as server:
        assert _get(server, "/hello").body == b"hello"


def test_a_pid_file_that_cannot_be_written_leaves_no_socket_file_behind(tmp_path):
    from corral_testing.process import assert_clean_error, run_corral

    sock = tmp_path / "corral.sock"
    result = run_corral("-b", f"unix:{sock}", "--pid", str(tmp_path / "no" / "pid"), "echo:app")
    assert_clean_error(result, 1, "cannot write pid file")
    assert not sock.exists()
