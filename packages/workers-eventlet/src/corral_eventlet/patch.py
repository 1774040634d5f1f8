"""Monkey-patching: the standard library made cooperative, before the application loads.

The rule (README, "Monkey-patching"): patching must happen before the application, or any
library it imports, takes a reference to ``socket``, ``ssl``, ``threading``, ``time.sleep``
and friends. The worker patches in the forked child before it imports the application;
with ``--preload`` the application is imported in the master, so the master patches first
(corral calls :func:`patch` through ``EventletWorker.prepare_master``).
"""

from __future__ import annotations

import warnings

_PATCHABLE = ("os", "select", "socket", "thread", "time")


def import_eventlet() -> None:
    """Import eventlet without its deprecation banner: choosing ``-k eventlet`` is a
    deliberate choice for an existing eventlet application (see the README)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
        import eventlet  # noqa: F401


_master_patched_without_os = False


def patch(master: bool = False) -> None:
    """``eventlet.monkey_patch()``, unless something is patched already.

    An application that patched on purpose (say, ``monkey_patch(thread=False)`` in its
    ``gunicorn.conf.py``) keeps its choice: corral does not patch over it.

    In the master (``master=True``, for ``--preload``) everything but ``os`` is patched:
    eventlet's ``os.read`` waits on a non-blocking descriptor instead of raising
    ``BlockingIOError``, which would hang the master's signal pipe. The worker then adds
    ``os`` after the fork, so a worker is patched the same with or without ``--preload``.
    """
    global _master_patched_without_os
    import_eventlet()
    import eventlet
    from eventlet import patcher

    if not any(patcher.is_monkey_patched(name) for name in _PATCHABLE):
        if master:
            eventlet.monkey_patch(os=False)
            _master_patched_without_os = True
        else:
            eventlet.monkey_patch()
    elif _master_patched_without_os and not master and not patcher.is_monkey_patched("os"):
        eventlet.monkey_patch(os=True)


def after_fork() -> None:
    """In the forked worker: a fresh hub, whatever the master did with eventlet."""
    import_eventlet()
    from eventlet import hubs

    hubs.use_hub()
