"""Finding worker classes: the ``corral.workers`` entry-point group, or ``module:Class``.

Built-in workers are registered in the same group as plug-ins, so there is one lookup path.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import Any

from .errors import WorkerClassError
from .workers.base import WORKER_API_VERSION

GROUP = "corral.workers"

# Where to get the workers people ask for by name, when they are not installed.
_INSTALL_HINTS = {
    "gevent": "pip install 'corral[gevent]'",
    "eventlet": "pip install 'corral[eventlet]'",
}

# Gunicorn spellings found in existing gunicorn.conf.py files.
_GUNICORN_ALIASES = {
    "gunicorn.workers.sync.SyncWorker": "sync",
    "gunicorn.workers.gthread.ThreadWorker": "gthread",
    "gunicorn.workers.ggevent.GeventWorker": "gevent",
    "gunicorn.workers.geventlet.EventletWorker": "eventlet",
    "egg:gunicorn#sync": "sync",
    "egg:gunicorn#gthread": "gthread",
    "egg:gunicorn#gevent": "gevent",
    "egg:gunicorn#eventlet": "eventlet",
}


def installed_workers() -> dict[str, Any]:
    """Name -> entry point, for every worker class registered in ``corral.workers``."""
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def _check(cls: Any, label: str) -> type[Any]:
    if not isinstance(cls, type) or not callable(getattr(cls, "run", None)):
        raise WorkerClassError(f"worker class '{label}' is not a class with a run() method")
    version = getattr(cls, "CORRAL_WORKER_API", None)
    if version != WORKER_API_VERSION:
        dist = getattr(cls, "__module__", label).split(".")[0].replace("_", "-")
        raise WorkerClassError(
            f"worker class '{label}' was written for worker API {version}, but this corral "
            f"speaks worker API {WORKER_API_VERSION}: upgrade both together with "
            f"pip install --upgrade corral {dist}"
        )
    return cls


def load_worker_class(name: str | type[Any]) -> type[Any]:
    """The worker class for ``-k NAME`` (entry point), ``-k egg:DIST#NAME`` (the entry point
    NAME that distribution DIST registers) or ``-k package.module.Class`` (or ``:Class``);
    or the class itself (``worker_class = MyWorker`` in a config file or corral.app)."""
    if isinstance(name, type):
        return _check(name, f"{name.__module__}.{name.__qualname__}")
    name = _GUNICORN_ALIASES.get(name, name)
    if name.startswith("egg:"):
        return _load_egg(name)
    workers = installed_workers()
    if name in workers:
        try:
            cls = workers[name].load()
        except ImportError as exc:
            raise WorkerClassError(f"worker class '{name}' is installed but fails to import: {exc}")
        return _check(cls, name)
    if ":" in name or "." in name:
        module_name, _, attr = name.rpartition(":") if ":" in name else name.rpartition(".")
        try:
            module = importlib.import_module(module_name)
            cls = getattr(module, attr)
        except (ImportError, AttributeError) as exc:
            raise WorkerClassError(f"cannot load worker class '{name}': {exc}") from None
        return _check(cls, name)
    available = ", ".join(sorted(workers)) or "none"
    message = f"unknown worker class '{name}' (installed: {available})"
    if name in _INSTALL_HINTS:
        message += f"; install it with: {_INSTALL_HINTS[name]}"
    raise WorkerClassError(message)


def _load_egg(spec: str) -> type[Any]:
    """Gunicorn's ``egg:DIST#NAME``: the entry point NAME of distribution DIST (``#NAME``
    left out: ``sync``), looked up in corral's group."""
    dist, _, ep_name = spec[4:].partition("#")
    ep_name = ep_name or "sync"
    wanted = dist.lower().replace("_", "-")
    for ep in entry_points(group=GROUP):
        owner = ep.dist.name.lower().replace("_", "-") if ep.dist is not None else ""
        if ep.name == ep_name and owner == wanted:
            try:
                return _check(ep.load(), spec)
            except ImportError as exc:
                raise WorkerClassError(
                    f"worker class '{spec}' is installed but fails to import: {exc}"
                ) from None
    found = sorted(
        f"egg:{ep.dist.name}#{ep.name}" for ep in entry_points(group=GROUP) if ep.dist is not None
    )
    raise WorkerClassError(
        f"no worker '{ep_name}' registered by the distribution '{dist}' "
        f"(installed: {', '.join(found) or 'none'})"
    )
