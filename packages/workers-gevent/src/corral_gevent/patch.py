"""Monkey-patching: the standard library made cooperative, before the application loads.

The rule (README, "Monkey-patching"): patching must happen before the application, or any
library it imports, takes a reference to ``socket``, ``ssl``, ``threading``, ``time.sleep``
and friends. The worker patches in the forked child before it imports the application;
with ``--preload`` the application is imported in the master, so the master patches first
(corral calls :func:`patch` through ``GeventWorker.prepare_master``).
"""

from __future__ import annotations


def patch() -> None:
    """``gevent.monkey.patch_all()``, unless something is patched already.

    An application that patched on purpose (say, ``patch_all(thread=False)`` in its
    ``gunicorn.conf.py``) keeps its choice: corral does not patch over it.
    """
    from gevent import monkey

    if not monkey.is_anything_patched():
        monkey.patch_all()


def after_fork() -> None:
    """In the forked worker: a fresh hub, whatever the master did with gevent."""
    import gevent

    gevent.reinit()
