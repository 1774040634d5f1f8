"""Gunicorn 27.0.1's own request corpus, black-box through corral in every worker class
(corral_testing/gunicorn_corpus.py): every case agrees with Gunicorn or differs for the
reason listed, no listed difference is stale, and docs/HTTP.md shows today's table."""

from __future__ import annotations

from pathlib import Path

import pytest
from corral_testing import gunicorn_corpus as corpus
from corral_testing import worker_classes


@pytest.fixture(scope="session")
def cases(tmp_path_factory: pytest.TempPathFactory) -> list[corpus.Case]:
    # One download per run, shared by the pytest-xdist processes (a file lock inside).
    cache = Path(tmp_path_factory.getbasetemp()).parent / "gunicorn-corpus"
    return corpus.load(corpus.fetch(cache))


@pytest.mark.parametrize("worker", worker_classes())
def test_gunicorn_corpus_agrees_or_differs_for_a_listed_reason(worker, cases, tmp_path):
    assert len(cases) == 143  # 62 valid, 81 invalid in 27.0.1
    results = list(corpus.run(worker, cases, tmp_path))
    unexplained = [f"{r.case.name}: {r.disagreement}" for r in results if r.verdict == "DISAGREES"]
    assert not unexplained, "\n".join(unexplained)
    differing = {r.case.name for r in results if r.disagreement}
    stale = set(corpus.DIFFERENCES) - differing
    assert not stale, f"listed as different, but corral now agrees: {sorted(stale)}"
    print(corpus.table(results))
    assert corpus.table(results) == corpus.doc_table(), (
        "docs/HTTP.md is out of date: PYTHONPATH=packages/core/tests "
        ".venv/bin/python -m corral_testing.gunicorn_corpus --write"
    )
