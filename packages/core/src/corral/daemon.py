"""``-D/--daemon``: detach from the terminal after the sockets are bound.

The command binds every address first (so a port in use, or any other start-up error, is
still one line on the terminal and a non-zero exit), then forks twice with a new session
between, so the master has no controlling terminal and is not a session leader; the
command itself returns 0 at once. The daemon's standard streams go to ``/dev/null``: give
``--error-logfile`` (and ``--access-logfile``) to keep its logs, as with Gunicorn; with
``-R/--enable-stdio-inheritance`` only standard input does, and stdout and stderr stay
what the command was given (a file the shell redirected them to). The pid
file (``--pid``) is written by the daemon, after the forks, so it holds the master's pid.
"""

from __future__ import annotations

import os
import sys


def daemonize(inherit_stdio: bool = False) -> None:
    """Returns in the daemon; the process that called it exits 0."""
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    if os.fork():
        os._exit(0)
    os.setsid()
    if os.fork():
        os._exit(0)
    os.umask(0o22)  # as Gunicorn: a daemon does not inherit a shell's umask
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0,) if inherit_stdio else (0, 1, 2):
        os.dup2(null, fd)
    if null > 2:
        os.close(null)
