"""USR2: start a new master (new code, new Python, new corral) beside the running one, on
the same listening sockets, for an upgrade with nothing refused (docs/SIGNALS.md, USR2).

The old master forks; the child runs the ``pre_exec`` hook and executes the same command
again (``python -m corral`` with the arguments it was started with, from the folder it was
started in; a program embedding corral through corral.app: that program's own command
line, as Gunicorn re-executes ``sys.argv``) with ``CORRAL_FDS`` in its environment: a JSON
list of ``[fd, bind text, [fds]]`` for each listening socket, left open across the exec
(the list: with ``--reuse-port``, the address's sockets of worker indexes 1 and up). The
new master adopts those sockets for the addresses that are still in its configuration
(binding the others as usual), boots its workers, and both masters serve until the
operator stops the old one (``TERM``, or ``WINCH`` then ``TERM`` to watch the new one alone
first; ``HUP`` on the old master after ``WINCH`` brings its workers back, to roll back).

With a ``--pid`` file the old master renames it to ``PIDFILE.oldbin`` before it forks, and
the new master writes ``PIDFILE``. If the new master exits (it could not boot), the old
one renames the file back and goes on serving; the log says so.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from typing import TYPE_CHECKING

from .errors import CorralError
from .sockets import Listener

if TYPE_CHECKING:
    from .arbiter import Arbiter

ENV = "CORRAL_FDS"
PARENT_ENV = "CORRAL_OLD_MASTER"  # the old master's pid, for the new one


def begin(arbiter: Arbiter) -> int:
    """Fork and exec the new master; its pid (0 if it could not be started)."""
    pidfile = arbiter.pidfile_path
    if pidfile:
        try:
            os.rename(pidfile, pidfile + ".oldbin")
        except OSError as exc:
            arbiter.log.error("Cannot re-exec: renaming the pid file failed: %s", exc.strerror)
            return 0
        arbiter.pidfile_path = pidfile + ".oldbin"
    per_index = arbiter.ports.exec_fds()  # --reuse-port: every worker index's sockets
    fds = [
        [listener.sock.fileno(), listener.bind, per_index.get(listener.bind, [])]
        for listener in arbiter.listeners
    ]
    pid = os.fork()
    if pid:
        arbiter.log.info("Handling signal: usr2 (new master pid: %s)", pid)
        return pid
    # The child: become the new master.
    try:
        for listener in arbiter.listeners:
            listener.sock.set_inheritable(True)
        env = dict(os.environ)
        env[ENV] = json.dumps(fds)
        env[PARENT_ENV] = str(arbiter.pid)
        env.update(arbiter.systemd.environ_for_exec())
        if arbiter.metrics is not None:
            env.update(arbiter.metrics.environ_for_exec())
        if arbiter.socket_activated:  # systemd's sockets are still 3, 4, ...: as it passed them
            env["LISTEN_FDS"] = str(len(arbiter.listeners))
            env["LISTEN_PID"] = str(os.getpid())  # the same pid after the exec
        arbiter.cfg.pre_exec(arbiter)
        os.chdir(arbiter.start_dir)
        argv = arbiter.command or [sys.executable, "-m", "corral", *arbiter.argv]
        os.execve(sys.executable, argv, env)
    except BaseException as exc:  # the exec failed: the old master goes on
        try:
            arbiter.log.error("Cannot re-exec: %s", exc)
        finally:
            os._exit(1)
    raise AssertionError("unreachable")  # pragma: no cover


def failed(arbiter: Arbiter, pid: int, status: int) -> None:
    """The new master exited: the old one goes on, with its pid file back."""
    code = os.waitstatus_to_exitcode(status)
    arbiter.log.error("The new master (pid:%s) exited (%s); this master goes on serving", pid, code)
    path = arbiter.pidfile_path
    if path and path.endswith(".oldbin"):
        original = path[: -len(".oldbin")]
        try:
            os.rename(path, original)
            arbiter.pidfile_path = original
        except OSError as exc:
            arbiter.log.error("Cannot restore the pid file %s: %s", original, exc.strerror)


def old_master() -> int:
    """The pid of the master that started this one by USR2 (0: none), taken from the
    environment once."""
    raw = os.environ.pop(PARENT_ENV, "")
    return int(raw) if raw.isdigit() else 0


def other_master_serves(arbiter: Arbiter) -> bool:
    """Another master serves on the same sockets (a new one this one started, or the old
    one that started this one and is still there): stopping this one is then a
    retirement of its workers, not the server's stop, so they leave idle keep-alive
    connections to their deadlines and the backlog to the other master."""
    if arbiter.reexec_pid:
        return True
    return bool(arbiter.old_master_pid) and os.getppid() == arbiter.old_master_pid


def inherited() -> tuple[dict[str, Listener], dict[str, list[socket.socket]]]:
    """The listening sockets a previous master left open for this one, by bind text; and
    the ``--reuse-port`` sockets of worker indexes 1 and up, by bind text."""
    raw = os.environ.pop(ENV, None)
    if not raw:
        return {}, {}
    try:
        entries = json.loads(raw)
        found = {}
        per_index = {}
        for fd, bind, extra in entries:
            sock = socket.socket(fileno=int(fd))
            kind = "unix" if sock.family == socket.AF_UNIX else "tcp"
            path = sock.getsockname() if kind == "unix" else None
            found[str(bind)] = Listener(sock, str(bind), kind, path or None)
            if extra:
                per_index[str(bind)] = [socket.socket(fileno=int(n)) for n in extra]
        return found, per_index
    except (ValueError, TypeError, OSError) as exc:
        raise CorralError(f"{ENV}: not the listening sockets of a corral master ({exc})") from None
