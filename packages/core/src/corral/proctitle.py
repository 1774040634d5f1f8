"""Process titles, as ``ps`` and ``top`` show them: ``corral: master [NAME]`` and
``corral: worker [NAME]``, Gunicorn's ``gunicorn: master [NAME]`` with corral's name.

NAME is :attr:`corral.config.Config.process_name` (``--name``, else ``default_proc_name``,
else the APP argument, else ``corral``). Renaming needs the optional ``setproctitle``
package (``corral[setproctitle]``); without it the titles stay the command line, and the
CLI says so once at start-up when ``--name`` was given.
"""

from __future__ import annotations

from collections.abc import Callable

_setproctitle: Callable[[str], None] | None
try:
    from setproctitle import getproctitle, setproctitle

    # setproctitle takes over the memory of argv and the environment the first time it is
    # used: do it now, before corral changes os.environ (LISTEN_FDS...).
    getproctitle()
    _setproctitle = setproctitle
except ImportError:  # pragma: no cover - depends on the installation
    _setproctitle = None

AVAILABLE = _setproctitle is not None


def title(role: str, name: str) -> str:
    """The title of a process of ``role`` (``master`` or ``worker``)."""
    return f"corral: {role} [{name}]"


def set_title(role: str, name: str) -> None:
    """Name this process ``corral: ROLE [NAME]`` when setproctitle is installed."""
    if _setproctitle is not None:
        _setproctitle(title(role, name))
