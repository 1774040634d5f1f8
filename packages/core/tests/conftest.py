"""Fixtures for the core's tests. The harness itself is in corral_testing/."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from corral_testing import CorralProcess, stop_all

StartCorral = Callable[..., CorralProcess]


@pytest.fixture
def corral() -> Iterator[StartCorral]:
    """Start ``corral ARGS`` (default bind 127.0.0.1:0, cwd fixtureapps); stopped afterwards."""
    started: list[CorralProcess] = []

    def start(*args: str, wait_workers: int | None = None, **kwargs: object) -> CorralProcess:
        proc = CorralProcess(*args, **kwargs)  # type: ignore[arg-type]
        started.append(proc)
        return proc.start(wait_workers=wait_workers)

    yield start
    stop_all(started)
