"""Finding a worker class as every Gunicorn spelling names it (entry points are the real,
installed ones of this workspace)."""

from __future__ import annotations

import pytest
from corral.config import load_config
from corral.errors import UsageError, WorkerClassError
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


@pytest.mark.parametrize(
    ("flag", "cls"),
    [
        ("egg:corral#gthread", GthreadWorker),
        ("egg:corral", SyncWorker),
        ("corral.workers.gthread.GthreadWorker", GthreadWorker),  # package.module.Class
        ("corral.workers.sync:SyncWorker", SyncWorker),
        ("gunicorn.workers.gthread.ThreadWorker", GthreadWorker),
    ],
)
def test_every_spelling_passes_the_command_line_and_names_the_class(flag, cls):
    cfg = load_config(["-k", flag, "app:app"], {})
    assert cfg.worker_class == flag
    assert load_worker_class(cfg.worker_class) is cls


def test_a_dotted_path_to_a_plugin_class_finds_it():
    ep = installed_workers()["gevent"]
    cls = ep.load()
    assert load_worker_class(f"{cls.__module__}.{cls.__qualname__}") is cls


def test_a_class_given_in_a_config_file_is_used_as_it_is(tmp_path):
    (tmp_path / "corral.conf.py").write_text(
        "from corral.workers.gthread import GthreadWorker\nworker_class = GthreadWorker\n"
    )
    cfg = load_config(["app:app"], {}, cwd=str(tmp_path))
    assert load_worker_class(cfg.worker_class) is GthreadWorker


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("corral.workers.sync", "is not a class with a run() method"),  # a module
        (str, "is not a class with a run() method"),  # a class, not a worker
    ],
)
def test_what_is_not_a_worker_class_is_refused(value, fragment):
    with pytest.raises(WorkerClassError) as info:
        load_worker_class(value)
    assert fragment in info.value.message


@pytest.mark.parametrize("flag", ["egg:#sync", "egg:corral#", "egg:corral#a b", "corral..x:"])
def test_a_malformed_spelling_is_a_usage_error_naming_the_flag(flag):
    with pytest.raises(UsageError) as info:
        load_config(["-k", flag, "app:app"], {})
    assert info.value.message.startswith("--worker-class: expected a worker class name")
