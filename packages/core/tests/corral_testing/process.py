"""Start and stop a real ``corral`` process for integration tests."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from pathlib import Path

FIXTURE_APPS = Path(__file__).resolve().parent.parent / "fixtureapps"
_LISTENING = re.compile(r"Listening at: (\S+) \((\d+)\)")


def rss_kib(pid: int) -> int:
    """Resident memory of a process, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise LookupError(f"no VmRSS for {pid}")


def run_corral(
    *args: str,
    cwd: object = None,
    prefix: tuple[str, ...] = (),
    timeout: float = 30,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """``[PREFIX...] python -m corral ARGS`` to the end (a command that must exit by
    itself: a start-up error, ``--check-config``, ``-D``); its output as text."""
    return subprocess.run(
        [*prefix, sys.executable, "-m", "corral", *args],
        cwd=str(cwd or FIXTURE_APPS),
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def assert_clean_error(
    result: subprocess.CompletedProcess[str], code: int, *fragments: str
) -> None:
    """A user's mistake: exit ``code``, no traceback, and each fragment in the output."""
    output = result.stdout + result.stderr
    assert result.returncode == code, output
    assert "Traceback" not in output, output
    for fragment in fragments:
        assert fragment in output, output


def alive(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def children_of(pid: int) -> list[int]:
    return _children(pid)


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except FileNotFoundError:
        return []
    return [int(p) for p in text.split()]


def stop_all(procs: Iterable[CorralProcess], timeout: float = 10.0) -> None:
    """Stop every server still running (TERM, then KILL if it does not exit in time)."""
    for proc in procs:
        if proc.proc is None or proc.proc.poll() is not None:
            continue
        try:
            proc.stop(timeout=timeout)
        except Exception:
            proc.kill()


class CorralProcess:
    """``corral ARGS`` run from ``cwd`` (default: the fixture apps folder)."""

    def __init__(
        self,
        *args: str,
        cwd: str | os.PathLike[str] | None = None,
        env: dict[str, str] | None = None,
        bind: str | None = "127.0.0.1:0",
        new_session: bool = False,
        pass_fds: tuple[int, ...] = (),
        prefix: tuple[str, ...] = (),
        command: tuple[str, ...] = (),
        log_file: str | os.PathLike[str] | None = None,
    ) -> None:
        self.command = command  # instead of `python -m corral ARGS`: a program running corral
        self.log_file = log_file  # the error log, when it is not the process's output
        self.pass_fds = pass_fds
        self.prefix = prefix  # a command that execs corral (its pid stays corral's)
        self.new_session = new_session  # no controlling terminal (setsid), like a service
        self.args = list(args)
        if bind is not None:
            self.args = ["-b", bind, *self.args]
        self.cwd = str(cwd or FIXTURE_APPS)
        self.env = dict(os.environ if env is None else env)
        self.env.setdefault("PYTHONUNBUFFERED", "1")
        self.proc: subprocess.Popen[bytes] | None = None
        self.urls: list[str] = []
        self._log: list[str] = []
        self._lock = threading.Lock()
        self._reader: threading.Thread | None = None

    # ------------------------------------------------------------ life cycle

    def start(self, timeout: float = 15.0, wait_workers: int | None = None) -> CorralProcess:
        cmd = [*self.prefix, *(self.command or (sys.executable, "-m", "corral", *self.args))]
        self.proc = subprocess.Popen(
            cmd,
            cwd=self.cwd,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=self.new_session,
            pass_fds=self.pass_fds,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self._reader.join(2)
                raise RuntimeError(f"corral exited with {self.proc.returncode}:\n{self.log}")
            if self.log_file is not None and not self.urls:
                self.urls.extend(m.group(1) for m in _LISTENING.finditer(self.log))
            booted = self.log.count("Booting worker with pid")
            ready = self.urls and booted and (wait_workers is None or booted >= wait_workers)
            # Then wait until a worker has loaded the app and accepts.
            if ready and self.wait_for_connect(deadline - time.monotonic()):
                return self
            time.sleep(0.02)
        self.kill()
        raise TimeoutError(f"corral did not start in {timeout}s:\n{self.log}")

    def wait_for_connect(self, timeout: float) -> bool:
        if not self.urls or not self.urls[0].startswith(("http://", "https://")):
            return True
        end = time.monotonic() + max(timeout, 0.1)
        while time.monotonic() < end:
            try:
                with socket.create_connection((self.host, self.port), timeout=1):
                    return True
            except OSError:
                time.sleep(0.02)
        return False

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace")
            with self._lock:
                self._log.append(line)
            match = _LISTENING.search(line)
            if match:
                self.urls.append(match.group(1))

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int:
        """Signal the master and wait; returns its exit code."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise
        if self._reader is not None:
            self._reader.join(5)
        return code

    def kill(self) -> None:
        if self.proc is None:
            return
        pids = self.worker_pids() if self.proc.poll() is None else []
        for pid in [self.proc.pid, *pids]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait(10)

    def __enter__(self) -> CorralProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.stop()
            except subprocess.TimeoutExpired:
                pass

    # ------------------------------------------------------------- queries

    @property
    def output(self) -> str:
        """What the process wrote on its stdout and stderr so far."""
        with self._lock:
            return "".join(self._log)

    @property
    def log(self) -> str:
        """The process's output so far (and its ``log_file``'s text, after it)."""
        text = self.output
        if self.log_file is not None:
            try:
                text += Path(self.log_file).read_text(errors="replace")
            except FileNotFoundError:
                pass
        return text

    def wait_log(self, pattern: str, timeout: float = 10.0, count: int = 1) -> str:
        """Wait until ``pattern`` (a regex) matches the log ``count`` times."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            log = self.log
            if len(regex.findall(log)) >= count:
                return log
            time.sleep(0.02)
        raise TimeoutError(f"{pattern!r} not seen {count}x in {timeout}s:\n{self.log}")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    @property
    def host(self) -> str:
        return self.urls[0].split("//", 1)[1].rsplit(":", 1)[0].strip("[]")

    @property
    def port(self) -> int:
        return int(self.urls[0].rsplit(":", 1)[1])

    def worker_pids(self) -> list[int]:
        return _children(self.pid)

    def wait_workers(
        self, count: int, timeout: float = 10.0, exclude: set[int] = frozenset()
    ) -> list[int]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pids = [p for p in self.worker_pids() if p not in exclude]
            if len(pids) >= count:
                return pids
            time.sleep(0.02)
        raise TimeoutError(f"fewer than {count} workers after {timeout}s:\n{self.log}")

    def connect(self, timeout: float = 10.0) -> socket.socket:
        return socket.create_connection((self.host, self.port), timeout=timeout)
