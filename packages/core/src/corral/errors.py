"""Errors a user can cause, and how the CLI reports them.

Every mistake a user can make (bad flag, bad config file, missing app, port in use...)
raises a subclass of :class:`CorralError`. The CLI prints its message on one line and exits
with its ``exit_code``; no traceback is shown. Anything else escaping is a bug in corral.
"""

from __future__ import annotations


class CorralError(Exception):
    """A user-facing error: one clear line, a non-zero exit, no traceback."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UsageError(CorralError):
    """Bad command line, bad setting value, unknown flag: exit code 2 (as argparse)."""

    exit_code = 2


class ConfigError(CorralError):
    """The configuration file is missing, unreadable or fails to execute."""

    exit_code = 1


class AppImportError(CorralError):
    """The WSGI application could not be found, imported or is not callable.

    Exit code 4, as Gunicorn's "application failed to load".
    """

    exit_code = 4


class BindError(CorralError):
    """A listening address could not be bound (in use, permission denied, bad address)."""

    exit_code = 1


class WorkerClassError(CorralError):
    """The requested worker class is not installed or is not a usable worker."""

    exit_code = 1


class InfoExit(CorralError):
    """Not an error: ``--help`` or ``--version`` was asked for.

    The CLI prints ``message`` on standard output and exits 0.
    """

    exit_code = 0
