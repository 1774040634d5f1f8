"""``--reload``: a worker retires when a source file it loaded changes (for development).

Each worker watches the files of every module it has imported, plus ``--reload-extra-file``
ones, and when one changes it retires by the same rule as ``--max-requests`` (its
replacement, forked by the master, imports the new code; nothing in flight is cut).

Engines (``--reload-engine``, Gunicorn's names):

* ``inotify``: the kernel tells us (Linux inotify, through the ``inotify_simple`` package,
  ``pip install 'corral[reload]'``): a change is seen at once and costs nothing while
  nothing changes. The folders are watched rather than the files, so an editor that saves
  by writing a new file and renaming it over the old one is seen too.
* ``poll``: the files' modification times are compared once a second (any platform, no
  dependency, a few thousand ``stat`` calls a second for a large project).
* ``auto`` (the default): inotify when ``inotify_simple`` is installed, else poll.

``inotify_simple`` was chosen over ``watchdog`` and ``pyinotify``: it is the inotify system
calls and nothing else (ctypes, no thread or observer of its own, no compiled part), kept
up to date, so the watcher runs inside whatever concurrency the worker class has (a thread
in sync and gthread workers, a green thread in gevent and eventlet ones).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterable

RESCAN = 1.0  # seconds: how often new imports are added to the watch, and poll's period

Changed = Callable[[str], None]
WaitReadable = Callable[[int, float], bool]
Sleep = Callable[[float], None]


def _module_files() -> set[str]:
    found = set()
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        if path and os.path.exists(path):
            found.add(os.path.abspath(path))
    return found


def inotify_available() -> bool:
    try:
        import inotify_simple  # noqa: F401
    except ImportError:
        return False
    return True


def engine_for(setting: str) -> str:
    """The engine ``--reload-engine`` names, resolved (``auto``)."""
    if setting == "auto":
        return "inotify" if inotify_available() else "poll"
    return setting


class Reloader:
    """Watches; calls ``changed(path)`` once, on the first change, then stops."""

    def __init__(
        self,
        engine: str,
        extra_files: Iterable[str],
        changed: Changed,
        wait_readable: WaitReadable,
        sleep: Sleep,
    ) -> None:
        self.engine = engine_for(engine)
        self.extra = {os.path.abspath(p) for p in extra_files}
        self.changed = changed
        self.wait_readable = wait_readable
        self.sleep = sleep
        self.stopped = False

    def files(self) -> set[str]:
        return _module_files() | self.extra

    def prepare(self) -> None:
        """Take the starting point (modification times, or inotify watches) now, before the
        worker serves, so a change made after its first response is never missed."""
        if self.engine == "inotify":
            from inotify_simple import INotify, flags

            self._mask = (
                flags.CLOSE_WRITE | flags.MOVED_TO | flags.CREATE | flags.DELETE | flags.ATTRIB
            )
            self._watcher = INotify()
            self._folders: dict[int, str] = {}
            self._watched = self._watch_new()
        else:
            self._known = self._mtimes()

    def run(self) -> None:
        """Watch (in the background) until a change; ``prepare()`` first."""
        if self.engine == "inotify":
            self._run_inotify()
        else:
            self._run_poll()

    def _mtimes(self) -> dict[str, float]:
        seen = {}
        for path in self.files():
            try:
                seen[path] = os.stat(path).st_mtime
            except OSError:
                seen[path] = -1.0
        return seen

    def _run_poll(self) -> None:
        known = self._known
        while not self.stopped:
            self.sleep(RESCAN)
            now = self._mtimes()
            for path, mtime in now.items():
                if path in known and known[path] != mtime:
                    self.stopped = True
                    self.changed(path)
                    return
            known.update({p: m for p, m in now.items() if p not in known})

    def _watch_new(self) -> set[str]:
        """Watch the folders of files not watched yet; the files watched."""
        files = self.files()
        for folder in {os.path.dirname(p) for p in files} - set(self._folders.values()):
            try:
                self._folders[self._watcher.add_watch(folder, self._mask)] = folder
            except OSError:
                pass  # gone, or not readable: nothing to watch there
        return files

    def _run_inotify(self) -> None:
        watcher = self._watcher
        try:
            rescan_at = time.monotonic() + RESCAN
            while not self.stopped:
                if time.monotonic() >= rescan_at:
                    self._watched = self._watch_new()
                    rescan_at = time.monotonic() + RESCAN
                if not self.wait_readable(watcher.fileno(), RESCAN):
                    continue
                for event in watcher.read(timeout=0):
                    where = self._folders.get(event.wd)
                    path = os.path.join(where, event.name) if where else ""
                    if path in self._watched:
                        self.stopped = True
                        self.changed(path)
                        return
        finally:
            watcher.close()
