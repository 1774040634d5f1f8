"""The request corpus black-box: a real corral running the echo app, once per worker class.

The application sees exactly what ``corpus/requests.py`` says it must, or the peer gets the
status it names and the connection closes with nothing after the bad request processed.
Each case cites its RFC 9112 / RFC 9110 section. One corral per worker class and option
group, one connection per case.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from corpus.requests import CASES
from corpus.run import option_groups, run_corpus
from corral_testing import CorralProcess, stop_all, worker_classes

GROUPS = option_groups(CASES)


@pytest.fixture(scope="module", params=worker_classes())
def worker_class(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def servers(worker_class: str) -> Iterator[dict[tuple[str, ...], CorralProcess]]:
    procs: dict[tuple[str, ...], CorralProcess] = {}
    try:
        for options in GROUPS:
            procs[options] = CorralProcess("-k", worker_class, *options, "echo:app").start()
        yield procs
    finally:
        stop_all(procs.values())


@pytest.mark.parametrize("options", list(GROUPS), ids=lambda o: " ".join(o) or "defaults")
def test_corpus_black_box(
    servers: dict[tuple[str, ...], CorralProcess], options: tuple[str, ...]
) -> None:
    failures = run_corpus(servers[options], GROUPS[options])
    assert not failures, "\n".join(f"{k}: {v}" for k, v in failures.items())
