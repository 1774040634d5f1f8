"""The request corpus through the sans-IO core, split at every byte boundary.

Every case in ``corpus/requests.py`` cites the RFC 9112 / RFC 9110 section (or the setting)
that decides it; the same cases run black-box in ``integration/test_http_corpus.py``.
"""

from __future__ import annotations

import pytest
from corpus.requests import ACCEPTED, CASES, REFUSED, Case
from corpus.run import expected, run_core, splits


def test_corpus_is_large_and_names_are_unique() -> None:
    assert len(CASES) >= 150
    assert len({c.id for c in CASES}) == len(CASES)
    assert all(c.rule for c in CASES)
    assert len(ACCEPTED) >= 40 and len(REFUSED) >= 100


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_case_at_every_split(case: Case) -> None:
    want = expected(case)
    for pieces in splits(case.raw):
        got = run_core(case, pieces)
        assert got == want, (case.rule, [len(p) for p in pieces][:2])
