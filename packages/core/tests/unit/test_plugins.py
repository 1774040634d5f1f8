"""Finding a worker class as every Gunicorn spelling names it (entry points are the real,
installed ones of this workspace)."""

from __future__ import annotations

import pytest
from corral.errors import WorkerClassError
from corral.plugins import installed_workers, load_worker_class
from corral.workers.gthread import GthreadWorker
from corral.workers.sync import SyncWorker


@pytest.mark.parametrize(
    ("spec", "cls"),
    [
        ("sync", SyncWorker),
        ("gthread", GthreadWorker),
        ("egg:corral#sync", SyncWorker),
        ("egg:corral#gthread", GthreadWorker),
        ("egg:corral", SyncWorker),  # Gunicorn's default entry point name
        ("egg:gunicorn#gthread", GthreadWorker),  # an existing gunicorn.conf.py
        ("gunicorn.workers.sync.SyncWorker", SyncWorker),
        ("corral.workers.sync.SyncWorker", SyncWorker),  # dotted
        ("corral.workers.gthread:GthreadWorker", GthreadWorker),  # module:Class
    ],
)
def test_every_spelling_finds_the_class(spec, cls):
    assert load_worker_class(spec) is cls


@pytest.mark.parametrize("name", sorted(installed_workers()))
def test_egg_form_of_every_installed_plugin(name):
    ep = installed_workers()[name]
    assert ep.dist is not None
    assert load_worker_class(f"egg:{ep.dist.name}#{name}") is ep.load()


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("egg:nope#sync", "no worker 'sync' registered by the distribution 'nope'"),
        ("egg:corral#nope", "no worker 'nope' registered by the distribution 'corral'"),
        ("nope", "unknown worker class 'nope'"),
        ("corral.workers.sync.Nope", "cannot load worker class 'corral.workers.sync.Nope'"),
    ],
)
def test_a_wrong_spelling_says_what_is_installed(spec, fragment):
    with pytest.raises(WorkerClassError) as info:
        load_worker_class(spec)
    assert fragment in info.value.message
    if spec.startswith("egg:"):
        assert "egg:corral#sync" in info.value.message
