"""corral under test: the workspace's ``corral``, run on the host once per worker class."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from corral_testing import CorralProcess, worker_classes

APPS = Path(__file__).resolve().parent.parent / "apps"
APP = "conformance_app:app"

# The worker classes the suite expects to exist. Classes in this list that no installed
# package provides are shown as "not installed" in the matrix (nothing runs for them);
# classes installed but not listed here are tested all the same.
EXPECTED_WORKERS = ["sync", "gthread", "gevent", "eventlet"]
ASYNC_WORKERS = ["gthread", "gevent", "eventlet"]

WORKERS_PER_MASTER = 2
THREADS = 4

StartCorral = Callable[..., CorralProcess]


@dataclass(frozen=True)
class WorkerSetup:
    name: str
    args: tuple[str, ...]
    # OS threads running the application (processes x threads): what a sync pool can hold
    # at once, and the yardstick for the size of the slow-client attacks.
    slots: int


def installed_workers() -> list[str]:
    return list(map(str, worker_classes()))


def all_workers() -> list[str]:
    installed = installed_workers()
    return EXPECTED_WORKERS + [w for w in installed if w not in EXPECTED_WORKERS]


def worker_setup(name: str) -> WorkerSetup:
    base = ("-k", name, "-w", str(WORKERS_PER_MASTER))
    if name == "sync":
        return WorkerSetup(name, base, WORKERS_PER_MASTER)
    if name == "gthread":
        return WorkerSetup(name, (*base, "--threads", str(THREADS)), WORKERS_PER_MASTER * THREADS)
    # Greenlet workers: one OS thread each, with --worker-connections (default 1000)
    # greenlets; their pool holds far more connections than the attacks open.
    return WorkerSetup(name, base, WORKERS_PER_MASTER)


def corral_help() -> str:
    return subprocess.run(
        [sys.executable, "-m", "corral", "--help"], capture_output=True, text=True, check=False
    ).stdout


def start_corral(
    worker: str,
    host: str,
    *extra: str,
    name: str = "corral",
    record: Path | None = None,
) -> CorralProcess:
    """Start corral with the conformance app, bound to ``host`` on a free port, or to
    ``host`` itself when it is a unix socket (``unix:PATH``)."""
    env = dict(os.environ)
    env["CONFORMANCE_NAME"] = name
    if record is not None:
        env["CONFORMANCE_RECORD"] = str(record)
    setup = worker_setup(worker)
    bind = host if host.startswith("unix:") else f"{host}:0"
    proc = CorralProcess(*setup.args, *extra, APP, cwd=APPS, env=env, bind=bind)
    return proc.start(wait_workers=WORKERS_PER_MASTER)


def log_tail(proc: CorralProcess, lines: int = 40) -> str:
    return "".join(proc.log.splitlines(keepends=True)[-lines:])
