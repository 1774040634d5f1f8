"""The core's HTTP request corpus through the gevent worker: the sync worker's verdicts."""

from __future__ import annotations

import pytest
from corpus.run import option_groups, run_corpus
from corral_testing import FIXTURE_APPS
from gevent_testing import WORKER, Serve

GROUPS = option_groups()


@pytest.mark.parametrize("options", list(GROUPS), ids=lambda o: " ".join(o) or "defaults")
def test_corpus_verdicts_match_the_sync_worker(serve: Serve, options: tuple[str, ...]) -> None:
    cases = GROUPS[options]
    sync = serve(*options, "echo:app", worker="sync", cwd=FIXTURE_APPS)
    green = serve(*options, "echo:app", worker=WORKER, cwd=FIXTURE_APPS)
    sync_failures = run_corpus(sync, cases)
    green_failures = run_corpus(green, cases)
    assert cases
    # The same cases pass and the same fail (the core's own tests hold sync to the corpus).
    assert set(green_failures) == set(sync_failures), (sync_failures, green_failures)
