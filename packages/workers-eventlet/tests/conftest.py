"""Fixtures of the eventlet worker's tests: the real corral, run with ``-k eventlet``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from corral_testing import CorralProcess
from eventlet_testing import APPS, WORKER, Serve


@pytest.fixture
def serve() -> Iterator[Serve]:
    """``serve(*ARGS)``: start ``corral -k eventlet ARGS`` (cwd: tests/apps, one worker unless
    ARGS say otherwise; ``worker=None`` leaves out ``-k``); stopped after the test."""
    started: list[CorralProcess] = []

    def start(
        *args: str, worker: str | None = WORKER, cwd: Path = APPS, **kwargs: object
    ) -> CorralProcess:
        flags = ["-k", worker] if worker else []
        proc = CorralProcess(*flags, *args, cwd=cwd, **kwargs)  # type: ignore[arg-type]
        started.append(proc)
        return proc.start(wait_workers=1)

    yield start
    for proc in started:
        if proc.proc is not None and proc.proc.poll() is None:
            try:
                proc.stop(timeout=15)
            except Exception:
                proc.kill()
